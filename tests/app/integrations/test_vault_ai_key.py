"""ANTHROPIC_API_KEY as a server-side reference: a pipeline's `ai_review` step, run by the real
engine, calls the Messages API with the key read from env://, file:// or a real OpenBao's
vault:// (a plain value still serves); a key that cannot be read fails the step with
CREDENTIAL_FETCH_FAILED naming the reference, never the value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

import app.wiring
from app.integrations.catalogue import catalogue
from app.integrations.secrets.vault import PROVIDER
from app.integrations.store import create_integration
from app.settings import Settings
from tests.support.engine import run_pipeline
from tests.support.openbao import CATALOGUE, READ_ALL, OpenBao, own_openbao, vault_hub
from tests.support.settings import make_settings
from tests.support.steps import RecordingProvider

KEY = "sk-ant-api03-from-vault-7c6b5a49"
API = "https://anthropic.example"
PIPELINE = """
pipelines:
  p:
    on: {manual: true}
    steps:
      - {name: review, type: ai_review, config: {prompt: "Review this."}}
"""
REPLY = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Looks fine."}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 10, "output_tokens": 3},
}


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    with own_openbao(tmp_path_factory.mktemp("openbao")) as server:
        server.write_policy("reader", READ_ALL)
        server.write_kv2("ai", {"key": KEY})
        yield server


@pytest.fixture(autouse=True)
def vault_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's catalogue with the Vault provider in it."""
    monkeypatch.setattr(app.wiring, "catalogue", lambda: {**catalogue(), **CATALOGUE})


async def ai_settings(
    migrated: str, data_dir: Path, key: str, bao: OpenBao, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings whose ANTHROPIC_API_KEY is `key`, with `vault-1` registered on `bao`."""
    monkeypatch.setenv("BAO_TOKEN_AI", bao.token("reader"))
    monkeypatch.setenv("TEAM_AI_KEY", KEY)
    settings = make_settings(
        migrated, SHIPYARD_DATA_DIR=str(data_dir), ANTHROPIC_API_KEY=key, ANTHROPIC_API_URL=API
    )
    async with vault_hub(migrated, {}) as vh:
        await create_integration(
            vh.sessions,
            settings,
            {PROVIDER.name: PROVIDER},
            name="vault-1",
            type="secrets",
            provider=PROVIDER.name,
            config={"endpoint": bao.url},
            credential_ref="env://BAO_TOKEN_AI",
        )
    return settings


@pytest.mark.parametrize("kind", ["plain", "env", "file", "vault"])
async def test_the_server_key_may_be_a_reference(
    migrated: str,
    data_dir: Path,
    bao: OpenBao,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    kind: str,
) -> None:
    key_file = tmp_path / "anthropic.key"
    key_file.write_text(KEY + "\n")
    key = {
        "plain": KEY,
        "env": "env://TEAM_AI_KEY",
        "file": f"file://{key_file}",
        "vault": "vault://vault-1/ai#key",
    }[kind]
    settings = await ai_settings(migrated, data_dir, key, bao, monkeypatch)
    host = RecordingProvider()
    host.diff = "diff --git a/x b/x\n+hello\n"
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{API}/v1/messages").mock(return_value=httpx.Response(200, json=REPLY))
        run, steps = await run_pipeline(settings, PIPELINE, host)
    review = steps["review"]
    assert (run.state, review.state, review.error) == ("succeeded", "succeeded", None)
    assert route.calls.last.request.headers["x-api-key"] == KEY
    assert review.outputs["answer"] == "Looks fine."
    assert KEY not in review.log


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (
            "vault://vault-1/ai#nope",
            "vault://vault-1/ai#nope: RESOURCE_NOT_FOUND: integration vault-1: no key nope in "
            "secret/ai",
        ),
        ("vault://vault-9/ai#key", "there is no secrets integration 'vault-9'"),
        ("env://NO_SUCH_AI_KEY", "environment variable NO_SUCH_AI_KEY is not set"),
    ],
)
async def test_a_key_that_cannot_be_read_fails_the_step_naming_it(
    migrated: str,
    data_dir: Path,
    bao: OpenBao,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    says: str,
) -> None:
    settings = await ai_settings(migrated, data_dir, key, bao, monkeypatch)
    host = RecordingProvider()
    host.diff = "diff --git a/x b/x\n+hello\n"
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{API}/v1/messages").mock(return_value=httpx.Response(200, json=REPLY))
        run, steps = await run_pipeline(settings, PIPELINE, host)
    review = steps["review"]
    assert (run.state, review.state) == ("failed", "failed")
    assert review.error is not None
    assert review.error.startswith(f"CREDENTIAL_FETCH_FAILED: ANTHROPIC_API_KEY ({key}) cannot ")
    assert says in review.error
    assert KEY not in review.error
    assert not route.called
