"""The `checkout` step: the repository at the run's commit, in workspace/src.

`git init` + `git fetch --depth N origin <sha>` + `git checkout FETCH_HEAD` fetches exactly one
commit (hosts allow fetching a reachable sha with protocol v2), where `git clone --depth` could
only fetch a branch tip. A retry starts from an empty directory. The commit checked out is also
kept as `refs/shipyard/checkout`, so `create_pr` can tell whether later steps committed anything.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any, ClassVar

from pydantic import Field

from steps.base import StepConfig, StepContext, StepFailed
from steps.git import Git, has_password

__all__ = ["CHECKOUT_REF", "Checkout", "step"]

CHECKOUT_REF = "refs/shipyard/checkout"


class CheckoutConfig(StepConfig):
    depth: int = Field(1, ge=0)  # commits of history; 0 = all of it (and the tags)
    ref: str | None = Field(None, min_length=1)  # a sha, branch or tag instead of the run's sha


class Checkout:
    type_name: ClassVar[str] = "checkout"
    Config: ClassVar[type[StepConfig]] = CheckoutConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        assert isinstance(config, CheckoutConfig)
        target = config.ref or ctx.run.sha
        if not target:
            raise StepFailed("nothing to check out: the run has no commit; set `ref` in config")
        if target.startswith("-"):
            raise StepFailed(f"ref {target!r} is not a commit, branch or tag name")
        auth = await ctx.provider.clone_auth(ctx.run.repo)
        if has_password(auth.url):
            raise StepFailed("the clone URL carries a password; the provider must send a header")
        src = ctx.workspace / "src"
        await asyncio.to_thread(shutil.rmtree, src, True)  # a retry starts clean
        await asyncio.to_thread(ctx.workspace.mkdir, parents=True, exist_ok=True)
        await Git(ctx, ctx.workspace)("-c", "init.defaultBranch=main", "init", "--quiet", "src")
        git = Git(ctx, src, auth)
        await git("remote", "add", "origin", auth.url)
        history = ["--tags"] if config.depth == 0 else ["--no-tags", f"--depth={config.depth}"]
        await git("fetch", "--quiet", *history, "origin", target)
        await git("-c", "advice.detachedHead=false", "checkout", "--quiet", "FETCH_HEAD")
        await git("update-ref", CHECKOUT_REF, "HEAD")
        sha = (await git("rev-parse", "HEAD", log=False)).text
        ctx.log(f"checked out {target} at {sha} into {src}")
        return {"sha": sha, "path": str(src), "ref": target}


step = Checkout()
