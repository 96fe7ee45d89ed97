"""checkout against real git repositories on disk (file://), and one HTTP host that records."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.secrets.masker import Masker
from providers.vocabulary import CloneAuth
from steps.base import StepFailed
from steps.checkout import CHECKOUT_REF, CheckoutConfig, step
from steps.git import command_config, credential_secrets
from tests.support.git import HEADER, TOKEN, Origin, git, make_origin
from tests.support.steps import StepHarness


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return make_origin(tmp_path / "origin")


def use(harness: StepHarness, origin: Origin) -> None:
    harness.provider.clone = CloneAuth(url=origin.url, header=HEADER)


async def test_checks_out_an_older_sha_shallowly(harness: StepHarness, origin: Origin) -> None:
    use(harness, origin)
    ctx = harness.context(template={})
    ctx.run = dataclasses.replace(ctx.run, sha=origin.shas[0])

    outputs = await step.run(ctx, CheckoutConfig())

    src = harness.workspace / "src"
    assert outputs == {"sha": origin.shas[0], "path": str(src), "ref": origin.shas[0]}
    assert (src / "version.txt").read_text() == "0\n"
    assert git(src, "rev-list", "--count", "HEAD") == "1"
    assert git(src, "rev-parse", CHECKOUT_REF) == origin.shas[0]


async def test_full_depth_fetches_the_whole_history(harness: StepHarness, origin: Origin) -> None:
    use(harness, origin)
    outputs = await step.run(harness.context(), CheckoutConfig(depth=0, ref=origin.shas[1]))

    src = Path(outputs["path"])
    assert git(src, "rev-list", "--count", "HEAD") == "2"
    assert git(src, "rev-parse", "HEAD") == origin.shas[1]


async def test_ref_overrides_the_run_sha(harness: StepHarness, origin: Origin) -> None:
    use(harness, origin)
    outputs = await step.run(harness.context(), CheckoutConfig(ref="main", depth=2))

    assert outputs["sha"] == origin.shas[-1]
    assert git(Path(outputs["path"]), "rev-list", "--count", "HEAD") == "2"


async def test_a_retry_starts_clean(harness: StepHarness, origin: Origin) -> None:
    use(harness, origin)
    await step.run(harness.context(), CheckoutConfig(ref=origin.shas[2]))
    src = harness.workspace / "src"
    (src / "leftover.txt").write_text("from the failed attempt")
    (src / "version.txt").write_text("changed")

    outputs = await step.run(harness.context(attempt=2), CheckoutConfig(ref=origin.shas[1]))

    assert outputs["sha"] == origin.shas[1]
    assert not (src / "leftover.txt").exists()
    assert (src / "version.txt").read_text() == "1\n"


async def test_the_token_lands_nowhere(harness: StepHarness, origin: Origin) -> None:
    use(harness, origin)
    outputs = await step.run(harness.context(), CheckoutConfig(ref=origin.shas[0]))

    src = harness.workspace / "src"
    config = (src / ".git" / "config").read_text()
    assert origin.url in config
    stored = "\n".join(
        p.read_text(errors="replace") for p in (src / ".git").rglob("*") if p.is_file()
    )
    for secret in (TOKEN, HEADER.split()[-1]):
        assert secret not in stored
        assert secret not in "\n".join(harness.lines)
        assert secret not in repr(outputs)
    assert any("git fetch" in line for line in harness.lines)


async def test_an_unknown_sha_fails_clearly(harness: StepHarness, origin: Origin) -> None:
    use(harness, origin)
    with pytest.raises(StepFailed, match="git fetch failed"):
        await step.run(harness.context(), CheckoutConfig(ref="0" * 40))


async def test_nothing_to_check_out(harness: StepHarness, origin: Origin) -> None:
    use(harness, origin)
    ctx = harness.context()
    ctx.run = dataclasses.replace(ctx.run, sha=None)
    with pytest.raises(StepFailed, match="no commit"):
        await step.run(ctx, CheckoutConfig())


async def test_a_url_with_a_password_is_refused(harness: StepHarness) -> None:
    harness.provider.clone = CloneAuth(url=f"https://x:{TOKEN}@git.example/acme/web.git")
    with pytest.raises(StepFailed, match="password") as failure:
        await step.run(harness.context(), CheckoutConfig())
    assert TOKEN not in str(failure.value)


# The header over real HTTP: a host that records what git sends, then answers 404.


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, **dict(self.headers.items())})
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording_host() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/acme/web.git", seen
    finally:
        server.shutdown()
        server.server_close()


async def test_git_sends_the_header_to_the_host(
    harness: StepHarness, recording_host: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = recording_host
    harness.provider.clone = CloneAuth(url=url, header=HEADER)

    with pytest.raises(StepFailed) as failure:
        await step.run(harness.context(), CheckoutConfig())

    assert seen, "git never reached the host"
    assert seen[0]["path"].startswith("/acme/web.git/info/refs")
    assert seen[0]["Authorization"] == HEADER.partition(": ")[2]
    for text in (str(failure.value), "\n".join(harness.lines)):
        assert TOKEN not in text
        assert HEADER.split()[-1] not in text


def test_the_header_is_scoped_to_the_clone_host() -> None:
    env = command_config(CloneAuth(url="https://git.example:8443/acme/web.git", header=HEADER))
    assert env["GIT_CONFIG_COUNT"] == "3"
    assert env["GIT_CONFIG_KEY_2"] == "http.https://git.example:8443/.extraHeader"
    assert env["GIT_CONFIG_VALUE_2"] == HEADER
    bare = command_config(CloneAuth(url="https://git.example/acme/web.git"))
    assert HEADER not in bare.values()
    assert (bare["GIT_CONFIG_KEY_0"], bare["GIT_CONFIG_VALUE_0"]) == ("core.hooksPath", "/dev/null")


async def test_config_a_step_left_in_the_workspace_is_not_read(
    harness: StepHarness, origin: Origin
) -> None:
    """An earlier step wrote $HOME/.gitconfig (HOME is the workspace) with an fsmonitor that
    would see the token in git's environment."""
    use(harness, origin)
    harness.workspace.mkdir(parents=True, exist_ok=True)
    spy = harness.workspace / "spy.sh"
    spy.write_text(f"#!/bin/sh\nenv >> {harness.workspace}/seen-by-spy\n")
    spy.chmod(0o755)
    (harness.workspace / ".gitconfig").write_text(
        f"[core]\n\tfsmonitor = {spy}\n\thooksPath = {harness.workspace}\n"
    )
    (harness.workspace / "post-checkout").write_text(f"#!/bin/sh\nexec {spy}\n")
    (harness.workspace / "post-checkout").chmod(0o755)

    await step.run(harness.context(), CheckoutConfig(ref=origin.shas[0]))

    assert not (harness.workspace / "seen-by-spy").exists()


def test_the_credential_masker_knows_every_form_of_the_token() -> None:
    mask = Masker(credential_secrets(CloneAuth(url="https://git.example/a/b.git", header=HEADER)))
    encoded = HEADER.split()[-1]
    text = f"{HEADER} | {encoded} | x-access-token:{TOKEN} | {TOKEN}"
    assert TOKEN not in mask(text)
    assert encoded not in mask(text)
