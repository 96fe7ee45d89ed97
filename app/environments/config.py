"""The `environments:` section of `.shipyard.yml`: where a release may go, in which order, by
which strategy, with which artifacts and health checks (pure models).

```yaml
environments:
  staging:
    targets: [web-staging-1, web-staging-2]        # server-side targets, by name
    strategy: {type: rolling, batch_size: 1}
    deploy: {command: "docker compose -f shipyard.compose.lock.yml up -d"}
    artifacts: [compose-lock, env-file, manifest]
    health: {http: {url: "http://{{ target.host }}:8080/healthz"}, retries: 5, interval: 2s}
    auto_deploy: true
    url: https://staging.acme.example
  production:
    after: staging
    approvals: 1
    targets: [web-prod-1, web-prod-2, web-prod-3, web-prod-4]
    strategy: {type: canary, canary: 1, bake: 5m, then: {type: rolling, batch_size: 2}}
    health:                                        # through the bake, every 30 s
      prometheus: {integration: prom, query: "job:error_ratio:rate5m", threshold: 0.05}
      interval: 30s
    rollback: auto
    production: true
    reviews: required                              # `/deploy` from a pull request: approved
    outdated: strict                               # ... and up to date with its base
    confirm: true                                  # `/confirm` before it goes
    freeze: [{days: [fri], from: "16:00", to: "24:00", timezone: Europe/Paris, reason: weekend}]
```

Targets are only named here: what they are and who may use them is the server's
(`shipyard targets add`). `deploy.command` and a health check's `command` run on a target
verbatim — never rendered — with the release's values as `SHIPYARD_*` environment variables.

What ChatOps asks before `/deploy` from a pull request: `reviews` (an approved pull request,
or not), `outdated` (a branch behind its base refused, warned about, or not looked at),
`confirm` (a second `/confirm` within `confirm_timeout`), `drafts` (draft pull requests may
deploy). No deploy starts in a `freeze` window (`app.environments.freezes`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.environments.freezes import FreezeWindow
from app.pipelines.config.references import GRANTS
from app.releases.config import components_of
from app.repo_config.errors import custom_error
from app.repo_config.fields import FrozenModel, Template, named, none_as_empty, one_of
from app.repo_config.schema import RepoConfig, Section
from steps.config_types import ENV_NAME, Duration
from steps.secret_refs import SecretError, is_reference, parse_reference

__all__ = [
    "ARTIFACT_KINDS",
    "ENVIRONMENTS",
    "NOTIFY_EVENTS",
    "ROLES",
    "AllAtOnce",
    "ArtifactSpec",
    "BlueGreen",
    "Canary",
    "DeploySpec",
    "EnvironmentSpec",
    "HealthSpec",
    "HttpCheck",
    "NestedStrategy",
    "NotifyRule",
    "PrometheusCheck",
    "Rolling",
    "Strategy",
    "SwitchSpec",
    "TcpCheck",
    "environment_problems",
    "environments_of",
]

ROLES = ("read", "triage", "write", "maintain", "admin")
ARTIFACT_KINDS = (
    "compose-lock",
    "compose-file",
    "env-file",
    "systemd-unit",
    "nginx-config",
    "manifest",
)

EnvironmentName = Annotated[str, named("environment name"), Field(max_length=100)]
TargetName = Annotated[str, named("target name"), Field(max_length=100)]
Role = Literal["read", "triage", "write", "maintain", "admin"]
_REPO_PATH = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")
_FILENAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")


def _repo_path(value: str) -> str:
    if not _REPO_PATH.fullmatch(value) or ".." in value.split("/"):
        raise custom_error(
            f"{value!r} is not a path in the repository (relative, no '..', e.g. deploy/app.j2)"
        )
    return value


def _filename(value: str) -> str:
    if not _FILENAME.fullmatch(value) or value in (".", ".."):
        raise custom_error(f"{value!r} is not a file name (letters, digits, '.', '_', '-')")
    return value


RepoPath = Annotated[str, AfterValidator(_repo_path)]
FileName = Annotated[str, AfterValidator(_filename), Field(max_length=200)]


# --- strategies ---------------------------------------------------------------------------


class _Strategy(FrozenModel):
    max_failures: Annotated[int, Field(ge=0)] = 0  # task failures tolerated before it stops


class AllAtOnce(_Strategy):
    type: Literal["all-at-once"] = "all-at-once"


class Rolling(_Strategy):
    """`batch_size`: waves of that many, each waiting for the one before; `parallelism`: that
    many at a time, the next starting as soon as one ends. Neither: one at a time."""

    type: Literal["rolling"] = "rolling"
    batch_size: Annotated[int, Field(ge=1)] | None = None
    parallelism: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Rolling:
        if self.batch_size is not None and self.parallelism is not None:
            raise custom_error("give `batch_size` or `parallelism`, not both")
        return self


def _count_or_percent(value: object) -> object:
    """`1`, or `25%` of the targets."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip()[:-1].strip()
        if number.isdigit() and 0 < int(number) <= 100:
            return value.strip()
        raise custom_error(f"canary {value!r}: a percentage is 1% to 100%")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise custom_error(f"canary {value!r}: give a number of targets (1) or a percentage (25%)")


NestedStrategy = Annotated[AllAtOnce | Rolling, Field(discriminator="type")]


class Canary(_Strategy):
    """`canary` targets first (a count or a percentage, at least one), then health checks
    repeated through `bake`, then the rest by `then`."""

    type: Literal["canary"] = "canary"
    canary: Annotated[int | str, BeforeValidator(_count_or_percent)] = 1
    bake: Duration | None = None
    then: NestedStrategy = AllAtOnce()


class SwitchSpec(FrozenModel):
    """How traffic moves to a colour: `command` run on the new colour's targets (the colour in
    SHIPYARD_COLOUR), or a server-side `target` (a webhook, api or command target) called."""

    command: str | None = None
    target: TargetName | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SwitchSpec:
        if (self.command is None) == (self.target is None):
            raise custom_error("give exactly one of `command` or `target` for the switch")
        return self


class BlueGreen(_Strategy):
    """Two colours of the environment's targets: a deploy goes to the idle one, is verified,
    then `switch` moves traffic to it; the other colour is kept for an instant switch back."""

    type: Literal["blue-green"] = "blue-green"
    blue: Annotated[tuple[TargetName, ...], Field(min_length=1)]
    green: Annotated[tuple[TargetName, ...], Field(min_length=1)]
    switch: SwitchSpec

    @model_validator(mode="after")
    def _disjoint(self) -> BlueGreen:
        both = sorted(set(self.blue) & set(self.green))
        if both:
            raise custom_error(f"a target is in one colour only: {', '.join(both)} in both")
        return self


def _strategy_type(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("type", "all-at-once"))
    return getattr(value, "type", None)


Strategy = Annotated[
    Annotated[AllAtOnce, Tag("all-at-once")]
    | Annotated[Rolling, Tag("rolling")]
    | Annotated[Canary, Tag("canary")]
    | Annotated[BlueGreen, Tag("blue-green")],
    Discriminator(
        _strategy_type,
        custom_error_type="shipyard",
        custom_error_message=(
            "unknown strategy type: use all-at-once, rolling, canary or blue-green"
        ),
    ),
]


# --- deploying, artifacts, health ----------------------------------------------------------


class DeploySpec(FrozenModel):
    """What an ssh target runs (a command target runs its own); per task: a timeout, and how
    many attempts before it fails."""

    command: str | None = None
    timeout: Duration = 600.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 1


def _env_names(env: dict[str, str]) -> dict[str, str]:
    for name in env:
        if not ENV_NAME.fullmatch(name):
            raise custom_error(f"{name!r} is not an environment variable name")
        if name.startswith("SHIPYARD_"):
            raise custom_error(f"{name}: SHIPYARD_* variables are Shipyard's own")
    return env


class ArtifactSpec(FrozenModel):
    """One generated file. Written `compose-lock`, or `{env-file: {env: {…}}}` with options:
    `template` (a file of the repository, at its default branch; compose-file, compose-lock,
    systemd-unit, nginx-config), `filename`, `env` (env-file: values, or `secret://NAME`),
    `service` (systemd-unit), `port` and `server_name` (nginx-config)."""

    kind: Literal[
        "compose-lock",
        "compose-file",
        "env-file",
        "systemd-unit",
        "nginx-config",
        "manifest",
    ]
    template: RepoPath | None = None
    filename: FileName | None = None
    env: Annotated[dict[str, str], BeforeValidator(none_as_empty), AfterValidator(_env_names)] = {}
    service: Annotated[str, named("service name")] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    server_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`compose-lock` is `{kind: compose-lock}`; `{env-file: {…}}` is `{kind: env-file, …}`."""
        if isinstance(value, str):
            return {"kind": value}
        if isinstance(value, dict) and len(value) == 1 and "kind" not in value:
            [(kind, options)] = value.items()
            return {"kind": kind, **(options or {})}
        return value

    @field_validator("env")
    @classmethod
    def _secrets_granted(cls, env: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        """A value may be `secret://NAME` (kept as the reference until the file is written on
        the target): a secret the server defines and grants the repository."""
        context = info.context
        grants = context.get(GRANTS) if isinstance(context, Mapping) else None
        for key, value in env.items():
            if not is_reference(value):
                continue
            try:
                ref = parse_reference(value, allowed=("secret",))
            except SecretError as error:
                raise custom_error(f"{key}: {error}") from None
            problem = grants.problem(ref.name) if grants is not None else None
            if problem is not None:
                raise custom_error(f"{key}: {problem}")
        return env

    @model_validator(mode="after")
    def _options_of_kind(self) -> ArtifactSpec:
        allowed = {
            "compose-lock": {"template", "filename"},
            "compose-file": {"template", "filename"},
            "env-file": {"env", "filename"},
            "systemd-unit": {"template", "filename", "service"},
            "nginx-config": {"template", "filename", "port", "server_name"},
            "manifest": {"filename"},
        }[self.kind]
        given = {name for name in self.model_fields_set if name != "kind"}
        extra = sorted(given - allowed)
        if extra:
            takes = ", ".join(sorted(allowed))
            raise custom_error(f"{self.kind} takes no {', '.join(extra)} (it takes {takes})")
        return self


def _url_shorthand(value: object) -> object:
    """`http: /healthz` is `http: {url: "http://{{ target.host }}/healthz"}`; a whole URL too."""
    if isinstance(value, str):
        url = value if "://" in value else "http://{{ target.host }}" + value
        return {"url": url}
    return value


class HttpCheck(FrozenModel):
    url: Template
    status: Annotated[int, Field(ge=100, le=599)] = 200
    body: str | None = None  # a substring the answer must hold


class TcpCheck(FrozenModel):
    port: Annotated[int, Field(ge=1, le=65535)]
    host: Template = "{{ target.host }}"


_INTEGRATION_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


def _integration_name(value: str) -> str:
    if not _INTEGRATION_NAME.fullmatch(value):
        raise custom_error(
            f"integration name {value!r}: lower-case letters, digits, '.', '_' and '-'"
        )
    return value


def _a_number(value: object) -> object:
    if isinstance(value, bool):
        raise custom_error(f"threshold {value!r}: give a number")
    return value


def _some_promql(value: str) -> str:
    if not value.strip():
        raise custom_error("the query is empty: give a PromQL expression")
    return value


class PrometheusCheck(FrozenModel):
    """A PromQL `query` asked of a `metrics` integration: every sample must hold
    `<value> <comparison> <threshold>`, and an answer with no samples fails unless
    `on_empty: pass`. Through a canary's bake it is asked every `interval` (the health's
    own by default) for `for` from the bake's start (the whole bake by default; a longer
    `for` makes the bake as long); elsewhere it is one more check of each try."""

    integration: Annotated[str, AfterValidator(_integration_name)]
    query: Annotated[Template, AfterValidator(_some_promql)]
    threshold: Annotated[float, BeforeValidator(_a_number), Field(allow_inf_nan=False)]
    comparison: Literal["<", "<=", ">", ">="] = "<="
    interval: Duration | None = None
    for_: Annotated[Duration | None, Field(alias="for")] = None
    on_empty: Literal["fail", "pass"] = "fail"


class HealthSpec(FrozenModel):
    """Checks run after each task's deploy (`verifying`) and through a canary's bake: each
    tried `retries` times more, `interval` apart, each try within `timeout`."""

    http: Annotated[HttpCheck, BeforeValidator(_url_shorthand)] | None = None
    tcp: TcpCheck | None = None
    command: str | None = None  # on the target over SSH; locally for other targets
    prometheus: PrometheusCheck | None = None
    retries: Annotated[int, Field(ge=0, le=100)] = 3
    interval: Duration = 5.0
    timeout: Duration = 5.0

    @model_validator(mode="after")
    def _some_check(self) -> HealthSpec:
        if (self.http, self.tcp, self.command, self.prometheus) == (None, None, None, None):
            raise custom_error("a health check needs `http`, `tcp`, `command` or `prometheus`")
        return self


# --- notifications -------------------------------------------------------------------------

NOTIFY_EVENTS = ("started", "succeeded", "failed", "rolled_back")


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class NotifyRule(FrozenModel):
    """A notification integration registered on the server (checked when a notice is sent,
    not here), told when a deployment to the environment `on` starts, succeeds, fails or is
    rolled back (all four by default). `- team-slack` is `- {integration: team-slack}`."""

    integration: Annotated[str, AfterValidator(_integration_name)]
    on: Annotated[
        tuple[Annotated[str, one_of("deployment event", NOTIFY_EVENTS)], ...],
        BeforeValidator(_one_or_many),
        Field(min_length=1),
    ] = NOTIFY_EVENTS

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"integration": value} if isinstance(value, str) else value


# --- the environment -----------------------------------------------------------------------


class EnvironmentSpec(FrozenModel):
    targets: Annotated[tuple[TargetName, ...], Field(min_length=1)]
    strategy: Strategy = AllAtOnce()
    deploy: DeploySpec = DeploySpec()
    artifacts: tuple[ArtifactSpec, ...] = ()
    health: HealthSpec | None = None
    components: tuple[Annotated[str, named("component name")], ...] | None = None
    auto_deploy: bool = False
    url: Template | None = None
    after: EnvironmentName | None = None
    approvals: Annotated[int, Field(ge=0, le=10)] = 0
    deployers: Role = "write"
    rollback: Literal["auto", "manual"] = "manual"
    production: bool = False
    transient: bool = False
    reviews: Literal["required", "optional"] = "optional"
    outdated: Literal["strict", "warn", "off"] = "warn"
    confirm: bool = False
    confirm_timeout: Duration = 600.0
    freeze: tuple[FreezeWindow, ...] = ()
    drafts: bool = False
    notify: Annotated[tuple[NotifyRule, ...], BeforeValidator(_one_or_many)] = ()

    @model_validator(mode="before")
    @classmethod
    def _one_target(cls, value: Any) -> Any:
        """`targets: web-1` is `targets: [web-1]`."""
        if isinstance(value, dict) and isinstance(value.get("targets"), str):
            return {**value, "targets": [value["targets"]]}
        return value

    @model_validator(mode="after")
    def _colours_are_targets(self) -> EnvironmentSpec:
        strategy = self.strategy
        if isinstance(strategy, BlueGreen):
            coloured = set(strategy.blue) | set(strategy.green)
            if coloured != set(self.targets):
                raise custom_error(
                    "blue-green: every target is blue or green, and only targets are "
                    f"(targets: {', '.join(self.targets)}; coloured: {', '.join(sorted(coloured))})"
                )
        names = [artifact.filename or artifact.kind for artifact in self.artifacts]
        kinds = [artifact.kind for artifact in self.artifacts]
        if len(set(kinds)) != len(kinds):
            raise custom_error("each artifact kind is listed once")
        if len(set(names)) != len(names):
            raise custom_error("two artifacts would be written to the same file")
        return self

    @model_validator(mode="after")
    def _for_is_through_a_bake(self) -> EnvironmentSpec:
        prometheus = self.health.prometheus if self.health is not None else None
        strategy = self.strategy
        baked = isinstance(strategy, Canary) and strategy.bake is not None
        if prometheus is not None and prometheus.for_ is not None and not baked:
            raise custom_error(
                "health.prometheus.for is how long the query holds through a canary's bake: "
                "use a canary strategy with a `bake`, or leave `for` out"
            )
        return self


Environments = Annotated[dict[EnvironmentName, EnvironmentSpec], BeforeValidator(none_as_empty)]

ENVIRONMENTS: Section[dict[str, EnvironmentSpec]] = Section("environments", Environments, {})


def environments_of(config: RepoConfig) -> dict[str, EnvironmentSpec]:
    """The environments a repo config declares, by name, in the order of the file."""
    return ENVIRONMENTS.of(config)


def environment_problems(config: RepoConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems across environments and components: `after:` names a declared environment and
    makes no circle; `components:` names declared components."""
    environments = environments_of(config)
    declared = components_of(config)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name, spec in environments.items():
        if spec.after is not None and spec.after not in environments:
            known = ", ".join(environments)
            problems.append(
                (("environments", name, "after"), f"unknown environment {spec.after!r} ({known})")
            )
        elif spec.after is not None and _circles(environments, name):
            problems.append(
                (("environments", name, "after"), "`after:` goes round in a circle back here")
            )
        for index, component in enumerate(spec.components or ()):
            if component not in declared:
                listed = ", ".join(declared) or "none are declared under `components:`"
                problems.append(
                    (
                        ("environments", name, "components", index),
                        f"unknown component {component!r} (components: {listed})",
                    )
                )
    return problems


def _circles(environments: dict[str, EnvironmentSpec], start: str) -> bool:
    seen = {start}
    current = environments[start].after
    while current is not None and current in environments:
        if current in seen:
            return True
        seen.add(current)
        current = environments[current].after
    return False
