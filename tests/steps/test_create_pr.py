"""create_pr against a real bare repository as origin (file://), after a real checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from providers.vocabulary import CloneAuth, PullRequest
from steps import checkout
from steps.base import StepFailed
from steps.create_pr import CreatePrConfig, check_branch_name, step
from tests.support.git import HEADER, TOKEN, git, make_origin
from tests.support.steps import StepHarness

BRANCH = "shipyard/bump-1.2.3"


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A bare origin with three commits on main, like a host's repository."""
    work = make_origin(tmp_path / "work")
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(work.path), str(tmp_path / "origin.git")],
        check=True,
    )
    return tmp_path / "origin.git"


def config(**overrides: Any) -> CreatePrConfig:
    return CreatePrConfig(**{"branch": BRANCH, "title": "Bump to 1.2.3", **overrides})


async def fresh_checkout(harness: StepHarness, bare: Path) -> Path:
    harness.provider.clone = CloneAuth(url=bare.as_uri(), header=HEADER)
    await checkout.step.run(harness.context(), checkout.CheckoutConfig(ref="main"))
    return harness.workspace / "src"


def remote_sha(bare: Path, branch: str = BRANCH) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=bare,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None


async def test_changes_are_pushed_and_one_pr_opened(harness: StepHarness, bare: Path) -> None:
    src = await fresh_checkout(harness, bare)
    (src / "version.txt").write_text("1.2.3\n")
    (src / "CHANGELOG.md").write_text("# 1.2.3\n")

    outputs = await step.run(harness.context(), config(body="Automated", draft=True))

    assert outputs == {
        "branch": BRANCH,
        "created": True,
        "number": 1,
        "url": "https://git.example/acme/web/pull/1",
    }
    pushed = remote_sha(bare)
    assert pushed is not None
    assert git(bare, "show", f"{pushed}:version.txt") == "1.2.3"
    assert git(bare, "log", "-1", "--format=%an <%ae>|%s", pushed) == (
        "Shipyard <shipyard@localhost>|Bump to 1.2.3"
    )
    assert git(bare, "rev-parse", f"{pushed}^") == git(bare, "rev-parse", "main")
    assert [c[0] for c in harness.provider.calls] == [
        "find_open_pull_request",
        "create_pull_request",
    ]
    assert harness.provider.calls[1][1][1:] == (BRANCH, "main", "Bump to 1.2.3", "Automated", True)
    assert harness.recorded == {"pr_number": 1}
    assert TOKEN not in (src / ".git" / "config").read_text()


async def test_a_second_run_reuses_the_open_pr(harness: StepHarness, bare: Path) -> None:
    src = await fresh_checkout(harness, bare)
    (src / "version.txt").write_text("1.2.3\n")
    await step.run(harness.context(), config())
    first_push = remote_sha(bare)

    src = await fresh_checkout(harness, bare)  # a new run makes the same change
    (src / "version.txt").write_text("1.2.3\n")
    outputs = await step.run(harness.context(), config())

    assert outputs["created"] is False
    assert outputs["number"] == 1
    assert len(harness.provider.pull_requests) == 1
    assert remote_sha(bare) == first_push  # same tree: not pushed again
    assert any("already has these changes" in line for line in harness.lines)


async def test_different_changes_update_the_branch(harness: StepHarness, bare: Path) -> None:
    src = await fresh_checkout(harness, bare)
    (src / "version.txt").write_text("1.2.3\n")
    await step.run(harness.context(), config())
    first_push = remote_sha(bare)

    src = await fresh_checkout(harness, bare)
    (src / "version.txt").write_text("1.2.4\n")
    outputs = await step.run(harness.context(), config())

    assert outputs["created"] is False
    second_push = remote_sha(bare)
    assert second_push != first_push
    assert git(bare, "show", f"{second_push}:version.txt") == "1.2.4"
    assert len(harness.provider.pull_requests) == 1


async def test_no_changes_no_branch_no_pr(harness: StepHarness, bare: Path) -> None:
    await fresh_checkout(harness, bare)

    outputs = await step.run(harness.context(), config())

    assert outputs == {"branch": BRANCH, "created": False, "number": None, "url": None}
    assert remote_sha(bare) is None
    assert harness.provider.calls == []
    assert harness.recorded == {}


async def test_commits_made_by_earlier_steps_are_proposed(harness: StepHarness, bare: Path) -> None:
    src = await fresh_checkout(harness, bare)
    (src / "version.txt").write_text("2.0.0\n")
    git(src, "commit", "--quiet", "-am", "release 2.0.0")  # e.g. `npm version` did this

    outputs = await step.run(harness.context(), config())

    assert outputs["created"] is True
    assert git(bare, "log", "-1", "--format=%s", BRANCH) == "release 2.0.0"


async def test_an_existing_open_pr_is_reused(harness: StepHarness, bare: Path) -> None:
    harness.provider.pull_requests.append(
        PullRequest(
            number=42,
            title="t",
            head_ref=BRANCH,
            head_sha="b" * 40,
            base_ref="release",
            state="open",
            url="https://git.example/acme/web/pull/42",
        )
    )
    src = await fresh_checkout(harness, bare)
    (src / "version.txt").write_text("1.2.3\n")

    outputs = await step.run(harness.context(), config(base="release"))

    assert (outputs["number"], outputs["created"]) == (42, False)
    assert "create_pull_request" not in [c[0] for c in harness.provider.calls]
    assert harness.recorded == {"pr_number": 42}


async def test_repository_hooks_do_not_run(harness: StepHarness, bare: Path) -> None:
    src = await fresh_checkout(harness, bare)
    hooks = src / ".git" / "hooks"
    for name in ("pre-commit", "commit-msg", "pre-push"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {harness.workspace}/{name}-ran\nexit 1\n")
        (hooks / name).chmod(0o755)
    (src / "version.txt").write_text("1.2.3\n")

    await step.run(harness.context(), config())

    assert remote_sha(bare) is not None
    assert not list(harness.workspace.glob("*-ran"))


def spy(path: Path, log: Path, *, then: str) -> Path:
    """A script that appends its environment to `log`, then does `then`."""
    path.write_text(f"#!/bin/sh\nenv >> {log}\n{then}\n")
    path.chmod(0o755)
    return path


async def test_the_token_never_meets_what_earlier_steps_left_in_src(
    harness: StepHarness, bare: Path
) -> None:
    """An earlier step ran the repository's code: it left hooks, a clean filter (which git runs
    on `add`), and a config include that turns a push to origin into a command of its own. The
    filter runs, as the repository's code may; nothing it or the rewritten remote see holds
    the token."""
    src = await fresh_checkout(harness, bare)
    seen = harness.workspace / "seen"
    filter_ = spy(harness.workspace / "filter.sh", seen, then="cat")
    transport = spy(harness.workspace / "transport.sh", seen, then="exit 1")
    for hook in ("post-checkout", "reference-transaction", "pre-push", "pre-commit"):
        spy(src / ".git" / "hooks" / hook, seen, then="exit 0")
    included = harness.workspace / "included.cfg"
    included.write_text(
        f'[protocol]\n\tallow = always\n[url "ext::{transport}"]\n\tinsteadOf = {bare.as_uri()}\n'
    )
    with (src / ".git" / "config").open("a") as planted:
        planted.write(
            f'[filter "spy"]\n\tclean = {filter_}\n'
            f"[core]\n\tfsmonitor = {transport}\n"
            f"[include]\n\tpath = {included}\n"
        )
    (src / ".gitattributes").write_text("* filter=spy\n")
    (src / "version.txt").write_text("1.2.3\n")

    await step.run(harness.context(), config())

    assert remote_sha(bare) is not None
    environments = seen.read_text()
    assert "GIT_DIR" in environments or "PATH" in environments  # the filter did run
    for secret in (TOKEN, HEADER.split()[-1]):
        assert secret not in environments


async def test_secrets_are_masked_in_what_is_sent(harness: StepHarness, bare: Path) -> None:
    harness.secrets.append("s3cret-value")
    src = await fresh_checkout(harness, bare)
    (src / "version.txt").write_text("1.2.3\n")

    await step.run(harness.context(), config(title="Bump s3cret-value", body="s3cret-value"))

    assert "s3cret-value" not in repr(harness.provider.calls)
    assert git(bare, "log", "-1", "--format=%s", BRANCH) == "Bump ***"


async def test_without_a_checkout_it_fails_clearly(harness: StepHarness) -> None:
    with pytest.raises(StepFailed, match="run a `checkout` step first"):
        await step.run(harness.context(), config())


async def test_the_base_branch_cannot_be_the_branch(harness: StepHarness, bare: Path) -> None:
    await fresh_checkout(harness, bare)
    with pytest.raises(StepFailed, match="is the base branch"):
        await step.run(harness.context(), config(branch="main"))


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-rf",
        "a b",
        "a..b",
        "a/.hidden",
        "x.lock",
        "a//b",
        "/a",
        "a/",
        "a.",
        "a@{1}",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "a\nb",
        "HEAD",
        "$(touch x)",
    ],
)
def test_unsafe_branch_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="branch name"):
        check_branch_name(name)
    with pytest.raises(ValidationError):
        config(branch=name)


@pytest.mark.parametrize("name", ["main", "shipyard/bump-1.2.3", "release/v2.0_rc1", "a.b/c-d"])
def test_ordinary_branch_names_pass(name: str) -> None:
    check_branch_name(name)
    done = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    assert done.returncode == 0
