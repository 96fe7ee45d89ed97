"""The `run_command` step: a command in the workspace, event values as environment variables.

Values that come from people (PR titles, branch names, comment text) are never spliced into the
command line: the command reads them from `SHIPYARD_*` environment variables, which Shipyard sets
last, so no `env:` can shadow them:

| variable | value |
| --- | --- |
| SHIPYARD_EVENT_KIND, SHIPYARD_EVENT_ACTION | `event.kind` (push, tag, ...), `event.action` |
| SHIPYARD_PROVIDER, SHIPYARD_REPOSITORY | github / gitlab / gitea / forgejo; `owner/name` |
| SHIPYARD_SHA, SHIPYARD_REF | the run's commit and ref |
| SHIPYARD_BRANCH, SHIPYARD_TAG | `event.branch`, `event.tag` |
| SHIPYARD_PR_NUMBER, SHIPYARD_PR_TITLE | the pull request (from `pull_request`, else `event`) |
| SHIPYARD_PR_HEAD_REF, SHIPYARD_PR_HEAD_SHA, SHIPYARD_PR_BASE_REF | its branches and head |
| SHIPYARD_COMMENT_BODY, SHIPYARD_ACTOR | `event.comment.body`, `event.actor.login` |
| SHIPYARD_RELEASE_NAME, SHIPYARD_RELEASE_VERSION | `release.name`, `release.version` |
| SHIPYARD_RUN_ID, SHIPYARD_RUN_URL, SHIPYARD_PIPELINE | the run and its page |
| SHIPYARD_STEP, SHIPYARD_ATTEMPT, SHIPYARD_WORKSPACE | this step |
| SHIPYARD_OUTPUT | a file: `key=value` lines become outputs (multi-line: see below) |
| SHIPYARD_OUTPUT_DELIMITER | a random word, new for every step: no text from people can forge it |

A multi-line output is written `key<<$SHIPYARD_OUTPUT_DELIMITER`, its lines, then a line holding
the delimiter alone.

A value that is absent is not set. The rest of the environment is PATH and LANG from
Shipyard's own, then the pipeline's `env:` (ctx.env), then the step's `env:`. The command runs
in the step's sandbox (`ctx.sandbox`), where HOME is a tmpfs of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from steps.base import StepConfig, StepContext, StepFailed
from steps.config_types import ENV_NAME
from steps.process import run_process

__all__ = ["RunCommand", "shipyard_env", "step"]

_OUTPUT_KEY = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.-]*\Z")
_RESERVED_OUTPUTS = frozenset({"exit_code", "output"})


class RunCommandConfig(StepConfig):
    verbatim: ClassVar[frozenset[str]] = frozenset({"command", "args"})

    command: str | None = None  # run by `bash -eo pipefail -c`
    args: list[str] | None = Field(None, min_length=1)  # executed directly, no shell
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None  # relative to workspace/src (or workspace); may not escape it
    timeout: float | None = Field(None, gt=0)
    tail: int = Field(20, ge=0, le=10_000)

    @model_validator(mode="after")
    def _one_of_command_or_args(self) -> RunCommandConfig:
        if (self.command is None) == (self.args is None):
            raise ValueError("give exactly one of `command` (a bash script) or `args` (a list)")
        return self

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
            if name.startswith("SHIPYARD_"):
                raise ValueError(f"{name}: SHIPYARD_* variables are set by Shipyard")
        return env


class RunCommand:
    type_name: ClassVar[str] = "run_command"
    Config: ClassVar[type[StepConfig]] = RunCommandConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        assert isinstance(config, RunCommandConfig)
        cwd = _workdir(ctx.workspace, config.workdir)
        argv = _argv(config)
        tail: deque[str] = deque(maxlen=config.tail)
        delimiter = secrets.token_hex(16)
        with _output_file(ctx.workspace, ctx.name) as output_file:
            env = _process_env(ctx, config.env, output_file, delimiter)
            code = await _run(argv, cwd, env, _line_sink(ctx, tail), config.timeout, ctx)
            text = await asyncio.to_thread(output_file.read_text, "utf-8", "replace")
        produced = _parse_outputs(text, delimiter)
        if code != 0:
            raise StepFailed(_exit_reason(code))
        for key in _RESERVED_OUTPUTS & produced.keys():
            ctx.log(f"SHIPYARD_OUTPUT: {key!r} is a built-in output; the written value is ignored")
        outputs: dict[str, Any] = {k: ctx.mask(v) for k, v in produced.items()}
        outputs |= {"exit_code": code, "output": ctx.mask("\n".join(tail))}
        return outputs


step = RunCommand()


@contextlib.contextmanager
def _output_file(workspace: Path, step_name: str) -> Iterator[Path]:
    """The step's SHIPYARD_OUTPUT file, inside the workspace (the sandbox sees nothing else),
    owned like the workspace; removed on every way out, cancellation included."""
    folder = workspace / ".shipyard"
    folder.mkdir(exist_ok=True)
    path = folder / f"{step_name}-{secrets.token_hex(8)}.output"
    path.touch()
    owner = workspace.stat()
    with contextlib.suppress(PermissionError):
        os.chown(folder, owner.st_uid, owner.st_gid)
        os.chown(path, owner.st_uid, owner.st_gid)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


async def _run(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    seconds: float | None,
    ctx: StepContext,
) -> int:
    try:
        async with asyncio.timeout(seconds):
            return await run_process(argv, cwd=cwd, env=env, on_line=on_line, launcher=ctx.sandbox)
    except TimeoutError:
        raise StepFailed(f"timed out after {seconds}s; the command was killed") from None
    except FileNotFoundError:
        raise StepFailed(f"{argv[0]}: command not found") from None
    except PermissionError:
        raise StepFailed(f"{argv[0]}: permission denied") from None
    except ValueError as exc:  # e.g. an environment variable name holding "="
        raise StepFailed(f"could not start the command: {exc}") from None


def _argv(config: RunCommandConfig) -> list[str]:
    if config.command is not None:
        return ["bash", "-eo", "pipefail", "-c", config.command]
    return list(config.args or [])


def _line_sink(ctx: StepContext, tail: deque[str]) -> Callable[[str], None]:
    def sink(line: str) -> None:
        ctx.log(line)
        tail.append(line)

    return sink


def _exit_reason(code: int) -> str:
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _workdir(workspace: Path, workdir: str | None) -> Path:
    """The directory to run in: under workspace/src if it exists, else under the workspace."""
    root = workspace.resolve()
    base = root / "src" if (root / "src").is_dir() else root
    if workdir is None:
        return base
    if Path(workdir).is_absolute():
        raise StepFailed(f"workdir {workdir!r} must be relative to the workspace")
    path = (base / workdir).resolve()
    if not path.is_relative_to(root):
        raise StepFailed(f"workdir {workdir!r} leads outside the workspace")
    if not path.is_dir():
        raise StepFailed(f"workdir {workdir!r} is not a directory in the workspace")
    return path


def _process_env(
    ctx: StepContext, step_env: Mapping[str, str], output: Path, delimiter: str
) -> dict[str, str]:
    env = {"HOME": str(ctx.workspace), "LANG": "C.UTF-8", **ctx.process_env}
    env |= ctx.env
    env |= step_env
    env |= shipyard_env(ctx)
    env["SHIPYARD_OUTPUT"] = str(output)
    env["SHIPYARD_OUTPUT_DELIMITER"] = delimiter
    return {name: value.replace("\0", "") for name, value in env.items()}


def shipyard_env(ctx: StepContext) -> dict[str, str]:
    """The `SHIPYARD_*` variables for this step, from the run and the template context."""
    t = ctx.template
    pull = "pull_request" if _dig(t, "pull_request") is not None else "event.pull_request"
    values: dict[str, Any] = {
        "EVENT_KIND": _dig(t, "event.kind"),
        "EVENT_ACTION": _dig(t, "event.action"),
        "PROVIDER": ctx.run.provider,
        "REPOSITORY": ctx.run.repo.full_name,
        "SHA": ctx.run.sha,
        "REF": ctx.run.ref,
        "BRANCH": _dig(t, "event.branch"),
        "TAG": _dig(t, "event.tag"),
        "PR_NUMBER": _dig(t, f"{pull}.number") or ctx.run.pr_number,
        "PR_TITLE": _dig(t, f"{pull}.title"),
        "PR_HEAD_REF": _dig(t, f"{pull}.head_ref"),
        "PR_HEAD_SHA": _dig(t, f"{pull}.head_sha"),
        "PR_BASE_REF": _dig(t, f"{pull}.base_ref"),
        "COMMENT_BODY": _dig(t, "event.comment.body"),
        "ACTOR": _dig(t, "event.actor.login"),
        "RELEASE_NAME": _dig(t, "release.name"),
        "RELEASE_VERSION": _dig(t, "release.version"),
        "RUN_ID": ctx.run.id,
        "RUN_URL": ctx.run.page_url,
        "PIPELINE": ctx.run.pipeline,
        "STEP": ctx.name,
        "ATTEMPT": ctx.attempt,
        "WORKSPACE": ctx.workspace,
    }
    return {f"SHIPYARD_{k}": _env_text(v) for k, v in values.items() if v is not None}


def _dig(root: Any, dotted: str) -> Any:
    """`root.a.b` through mappings (or attributes); None where any part is missing."""
    value = root
    for part in dotted.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return value


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))  # enums by their value


def _parse_outputs(text: str, delimiter: str) -> dict[str, str]:
    """`key=value` lines, and `key<<DELIMITER` ... `DELIMITER` for multi-line values, where
    DELIMITER is the step's own random one: a value from people cannot end a heredoc early
    and forge the outputs after it."""
    outputs: dict[str, str] = {}
    lines = iter(enumerate(text.splitlines(), start=1))
    for number, line in lines:
        equals, heredoc = line.find("="), line.find("<<")
        if not line.strip():
            continue
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            key, _, value = line.partition("=")
        elif heredoc >= 0:
            key, _, marker = line.partition("<<")
            if marker != delimiter:
                raise StepFailed(
                    f"SHIPYARD_OUTPUT line {number}: a multi-line value must be written "
                    "`key<<$SHIPYARD_OUTPUT_DELIMITER`, ending with a line of that delimiter"
                )
            value = _heredoc(lines, delimiter, number)
        else:
            raise StepFailed(f"SHIPYARD_OUTPUT line {number}: expected key=value, got {line!r}")
        if not _OUTPUT_KEY.match(key):
            raise StepFailed(f"SHIPYARD_OUTPUT line {number}: {key!r} is not a valid output name")
        outputs[key] = value
    return outputs


def _heredoc(lines: Iterator[tuple[int, str]], delimiter: str, start: int) -> str:
    body: list[str] = []
    for _, line in lines:
        if line == delimiter:
            return "\n".join(body)
        body.append(line)
    raise StepFailed(f"SHIPYARD_OUTPUT line {start}: no closing $SHIPYARD_OUTPUT_DELIMITER")
