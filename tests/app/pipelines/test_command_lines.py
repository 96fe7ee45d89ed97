"""Values from people never reach a command line: run_command's `command` and `args` are not
templates, in the config check and in the engine alike."""

from __future__ import annotations

import pytest

from app.features import parse_config
from app.repo_config import ConfigError
from app.settings import Settings
from steps.templates import TemplateError, render_config
from tests.support.engine import run_pipeline

SPLICED = """
pipelines:
  p:
    on: {manual: true}
    steps:
      - name: greet
        type: run_command
        config: {command: "echo {{ pull_request.title }}"}
"""


def test_the_config_check_refuses_a_template_in_a_command() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(SPLICED)
    message = str(raised.value)
    assert ".shipyard.yml:8: pipelines.p.steps[0].config" in message
    assert "`command` is never rendered as a template" in message
    assert "$SHIPYARD_PR_TITLE" in message


@pytest.mark.parametrize(
    "config",
    [
        '{args: ["echo", "{{ pull_request.title }}"]}',
        '{command_from: "build.cmd"}',
        '{command: "echo {%- if true %}x{% endif %}"}',
    ],
)
def test_args_and_command_from_are_refused_too(config: str) -> None:
    text = SPLICED.replace('{command: "echo {{ pull_request.title }}"}', config)
    with pytest.raises(ConfigError, match=r"not allowed|never rendered"):
        parse_config(text)


def test_other_keys_still_render() -> None:
    rendered = render_config(
        {"command": "echo $SHIPYARD_PR_TITLE", "workdir": "{{ vars.dir }}"},
        {"vars": {"dir": "web"}},
        verbatim=frozenset({"command", "args"}),
    )
    assert rendered == {"command": "echo $SHIPYARD_PR_TITLE", "workdir": "web"}
    with pytest.raises(TemplateError, match="`command` is never rendered"):
        render_config({"command": "{{ x }}"}, {}, verbatim=frozenset({"command"}))


async def test_the_engine_refuses_it_even_if_it_got_past_the_check(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's spec is a snapshot; an older or hand-made one must not reach a shell either."""
    import app.pipelines.launch as launch

    real_snapshot = launch.snapshot

    def spliced(pipeline: object) -> dict[str, object]:
        spec = real_snapshot(pipeline)  # type: ignore[arg-type]
        spec["steps"][0]["config"] = {"command": "echo {{ 'spliced' }} > pwned"}
        return spec

    monkeypatch.setattr(launch, "snapshot", spliced)
    text = SPLICED.replace('"echo {{ pull_request.title }}"', '"true"')
    run, steps = await run_pipeline(settings, text)
    assert run.state == "failed"
    assert steps["greet"].error is not None
    assert "never rendered as a template" in steps["greet"].error
    assert steps["greet"].outputs == {}
