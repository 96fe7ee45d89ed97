"""The `create_pr` step: commit what earlier steps changed in workspace/src to a branch, push
it, and open a pull request unless one is already open for that branch.

Safe to run twice: when the remote branch already has the same tree, nothing is pushed; an
open pull request for the branch is reused. Nothing changed (a clean tree, and no commit since
`checkout`) means no branch and no pull request.

Earlier steps may have run the repository's code and rewritten workspace/src/.git (its config
can point git at a proxy and turn TLS checks off), so the token never goes near it: the commit
is made there without credentials, pushed into a bare repository Shipyard makes for the purpose,
and only that repository talks to the provider's clone URL.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from providers.vocabulary import CloneAuth, PullRequest
from steps.base import StepConfig, StepContext, StepFailed
from steps.checkout import CHECKOUT_REF
from steps.git import Git

__all__ = ["CreatePr", "check_branch_name", "step"]

RECORDED_NUMBER = "pr_number"
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


class CreatePrConfig(StepConfig):
    branch: str  # e.g. "shipyard/bump-{{ vars.version }}", rendered before the step runs
    base: str | None = None  # default: the repository's default branch
    title: str = Field(min_length=1)
    body: str = ""
    commit_message: str | None = None  # default: the title
    draft: bool = False
    author_name: str = Field("Shipyard", min_length=1)
    author_email: str = Field("shipyard@localhost", min_length=1)

    @field_validator("branch", "base")
    @classmethod
    def _branch_name(cls, name: str | None) -> str | None:
        if name is not None:
            check_branch_name(name)
        return name


class CreatePr:
    type_name: ClassVar[str] = "create_pr"
    Config: ClassVar[type[StepConfig]] = CreatePrConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        assert isinstance(config, CreatePrConfig)
        src = ctx.workspace / "src"
        if not (src / ".git").is_dir():
            raise StepFailed("workspace/src is not a git repository: run a `checkout` step first")
        base = config.base or await ctx.provider.default_branch(ctx.run.repo)
        if base == config.branch:
            raise StepFailed(f"branch {config.branch!r} is the base branch; choose another")
        auth = await ctx.provider.clone_auth(ctx.run.repo)
        git = Git(ctx, src)
        outputs: dict[str, Any] = {"branch": config.branch, "created": False}
        if not await _commit(git, config, ctx.mask):
            ctx.log("nothing changed since checkout: no branch, no pull request")
            return outputs | {"number": None, "url": None}
        pushing = await _pushing_repository(git, config.branch)
        await _push(Git(ctx, pushing, auth), auth, config.branch)
        pull, created = await _open_pull_request(ctx, config, base)
        await ctx.record(RECORDED_NUMBER, pull.number)
        return outputs | {"number": pull.number, "url": pull.url, "created": created}


step = CreatePr()


async def _commit(git: Git, config: CreatePrConfig, mask: Callable[[str], str]) -> bool:
    """Commit the working tree on `branch`; False when there is nothing to propose."""
    await git("add", "--all")
    staged = await git("diff", "--cached", "--quiet", check=False, log=False)
    if staged.code not in (0, 1):
        raise StepFailed(f"git diff failed (exit code {staged.code})")
    start = await git("rev-parse", "--verify", "--quiet", CHECKOUT_REF, check=False, log=False)
    head = (await git("rev-parse", "HEAD", log=False)).text
    if staged.code == 0 and (start.code != 0 or start.text == head):
        return False
    await git("checkout", "--quiet", "-B", config.branch)
    if staged.code == 1:
        name, email = f"user.name={config.author_name}", f"user.email={config.author_email}"
        message = mask(config.commit_message or config.title)
        commit = ("commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message)
        await git("-c", name, "-c", email, *commit)
    return True


async def _pushing_repository(src: Git, branch: str) -> Path:
    """A fresh bare repository holding `branch` as committed in src, and nothing a step wrote."""
    path = src.ctx.workspace / ".shipyard" / "push.git"
    await asyncio.to_thread(shutil.rmtree, path, True)
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    made = Git(src.ctx, path.parent)
    await made("init", "--quiet", "--bare", "--template=", path.name, log=False)
    await Git(src.ctx, path)("config", "receive.shallowUpdate", "true", log=False)
    await src("push", "--quiet", "--no-verify", str(path), f"HEAD:refs/heads/{branch}", log=False)
    return path


async def _push(git: Git, auth: CloneAuth, branch: str) -> None:
    """Push `branch` to the clone URL, unless the remote branch already has the same tree."""
    ref = f"refs/heads/{branch}"
    listed = await git("ls-remote", auth.url, ref, log=False)
    remote = next((line.split()[0] for line in listed.lines if line.endswith(f"\t{ref}")), "")
    if remote:
        shallow = (await git("rev-parse", "--is-shallow-repository", log=False)).text == "true"
        depth = ["--depth=1"] if shallow else []
        await git("fetch", "--quiet", "--no-tags", *depth, auth.url, remote)
        trees = await git("rev-parse", f"{ref}^{{tree}}", f"{remote}^{{tree}}", log=False)
        if len(set(trees.lines)) == 1:
            git.ctx.log(f"{branch} already has these changes; not pushing")
            return
    lease = f"--force-with-lease={ref}:{remote}"  # empty: the branch must not exist yet
    await git("push", "--quiet", "--no-verify", lease, auth.url, f"{ref}:{ref}")


async def _open_pull_request(
    ctx: StepContext, config: CreatePrConfig, base: str
) -> tuple[PullRequest, bool]:
    repo = ctx.run.repo
    existing = await ctx.provider.find_open_pull_request(repo, head=config.branch, base=base)
    if existing is not None:
        ctx.log(f"pull request #{existing.number} is already open for {config.branch}")
        return existing, False
    pull = await ctx.provider.create_pull_request(
        repo,
        head=config.branch,
        base=base,
        title=ctx.mask(config.title),
        body=ctx.mask(config.body),
        draft=config.draft,
    )
    ctx.log(f"opened pull request #{pull.number}: {pull.url or ''}")
    return pull, True


_BRANCH_RULES: list[tuple[Callable[[str], bool], str]] = [
    (lambda n: not n or len(n) > 200, "must have 1 to 200 characters"),
    (lambda n: n.startswith("-"), "may not start with '-'"),
    (lambda n: bool(_FORBIDDEN.search(n)), "may not hold blanks, control characters or ~^:?*[\\"),
    (lambda n: ".." in n or "@{" in n, "may not contain '..' or '@{'"),
    (lambda n: "//" in n or n.startswith("/") or n.endswith("/"), "has an empty part ('/')"),
    (lambda n: n.endswith("."), "may not end with '.'"),
    (
        lambda n: any(p.startswith(".") or p.endswith(".lock") for p in n.split("/")),
        "has a part starting with '.' or ending with '.lock'",
    ),
    (lambda n: n in ("@", "HEAD"), "is reserved"),
]


def check_branch_name(name: str) -> None:
    """Raise ValueError unless git would accept `name` as a branch (`git check-ref-format`)."""
    for broken, why in _BRANCH_RULES:
        if broken(name):
            raise ValueError(f"branch name {name!r} {why}")
