"""What a deploy target is (pure): its type and connection, checked the same way whether the
CLI or the API registers it. A credential, and a header value that is a credential, are
server-side references (`env://VAR`, `file:///path`; `vault://` with the integration hub) —
never values; they are resolved when a task runs and never stored resolved."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from app.accounts.roles import InvalidAccount, check_repositories
from steps.secret_refs import Scheme, SecretError, is_reference, parse_reference

__all__ = [
    "CONNECTIONS",
    "CREDENTIAL_SCHEMES",
    "TARGET_TYPES",
    "ApiConnection",
    "CommandConnection",
    "Connection",
    "InvalidTarget",
    "SshConnection",
    "TargetSpec",
    "WebhookConnection",
    "WorkflowConnection",
    "check_fields",
    "merge_patch",
    "parse_connection",
    "patch_spec",
    "types_taking",
]

TARGET_TYPES = ("ssh", "webhook", "api", "workflow", "command")
CREDENTIAL_SCHEMES: tuple[Scheme, ...] = ("env", "file", "vault")
NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}=?")
_REPO_NAME = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+")
# Headers that carry a credential: their value is a reference, never the credential itself.
_CREDENTIAL_HEADER = re.compile(
    r"authorization|proxy-authorization|cookie|.*(auth|token|secret|password|api-?key).*",
    re.IGNORECASE,
)


class InvalidTarget(ValueError):
    """A target's definition is not valid; the message says what to give instead."""


class _Connection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _reference(value: str, what: str) -> str:
    try:
        parse_reference(value, allowed=CREDENTIAL_SCHEMES)
    except SecretError as error:
        raise ValueError(f"{what}: {error}") from None
    return value


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


class SshConnection(_Connection):
    """A host reached over SSH. The host key is verified, never trusted on first use: give
    `known_host` (`KEYTYPE BASE64`, a line of known_hosts without the host) or
    `host_key_fingerprint` (`SHA256:…`, what `ssh-keygen -lf` prints)."""

    type: Literal["ssh"] = "ssh"
    host: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:\[\]-]+$")]
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    user: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
    workdir: Annotated[str, Field(min_length=1, max_length=500)] = "shipyard"
    known_host: str | None = None
    host_key_fingerprint: str | None = None

    @field_validator("known_host")
    @classmethod
    def _known_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = value.split()
        if len(parts) != 2 or parts[0] not in _KEY_TYPES:
            raise ValueError(
                "known_host is 'KEYTYPE BASE64' (e.g. 'ssh-ed25519 AAAAC3…'), as a line of "
                "known_hosts without its host, or ssh-keyscan's output without the host"
            )
        try:
            base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("known_host: the key is not base64") from None
        return " ".join(parts)

    @field_validator("host_key_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is not None and not _FINGERPRINT.fullmatch(value):
            raise ValueError(
                "host_key_fingerprint is 'SHA256:' and 43 base64 characters, as "
                "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it"
            )
        return value

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, value: str) -> str:
        if "\0" in value or "\n" in value or ".." in value.split("/"):
            raise ValueError("workdir is a directory path (no '..'), relative to the home")
        return value

    @model_validator(mode="after")
    def _host_key(self) -> SshConnection:
        if (self.known_host is None) == (self.host_key_fingerprint is None):
            raise ValueError(
                "give exactly one of known_host ('KEYTYPE BASE64') or host_key_fingerprint "
                "('SHA256:…'): host keys are verified, never trusted on first use"
            )
        return self


def _headers(value: Mapping[str, str]) -> dict[str, str]:
    for name, header in value.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a header name")
        if "\n" in header or "\r" in header:
            raise ValueError(f"header {name}: a value is one line")
        if is_reference(header):
            _reference(header, f"header {name}")
        elif _CREDENTIAL_HEADER.fullmatch(name):
            raise ValueError(
                f"header {name} carries a credential: give it as a reference "
                f"({name}=env://VAR or {name}=file:///path), never its value"
            )
    return dict(value)


class _Http(_Connection):
    url: Annotated[str, Field(max_length=2000)]
    method: Literal["POST", "PUT", "PATCH", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    status_url: Annotated[str, Field(max_length=2000)] | None = None  # polled until done
    timeout: Annotated[float, Field(gt=0, le=86400)] = 600.0

    @field_validator("url", "status_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("headers")
    @classmethod
    def _header_values(cls, value: dict[str, str]) -> dict[str, str]:
        return _headers(value)


class WebhookConnection(_Http):
    """A JSON POST signed with X-Shipyard-Signature-256 (HMAC-SHA256 of the body, the secret
    the target's credential); 2xx succeeds; `status_url` is polled until it says done."""

    type: Literal["webhook"] = "webhook"


class ApiConnection(_Http):
    """An ECS / Nomad-style call: `body` a JSON template, the credential a bearer token, and
    `status_url` polled until the deployment says done, within `timeout`."""

    type: Literal["api"] = "api"
    body: Annotated[str, Field(max_length=20000)] | None = None


class WorkflowConnection(_Connection):
    """The host's CI: a workflow (GitLab: the project's pipeline) dispatched with the release
    as inputs, waited for until it ends. `repository` defaults to the deploying one.

    With `integration` (a `ci` integration: Jenkins, a host's CI), the build runs there:
    `workflow` is the Jenkins job (`folder/job`) or the workflow file, the release its
    parameters; `repository` defaults to the integration's own."""

    type: Literal["workflow"] = "workflow"
    provider: Literal["github", "gitlab", "gitea", "forgejo"] | None = None
    repository: str | None = None
    workflow: Annotated[str, Field(min_length=1, max_length=200)]
    ref: Annotated[str, Field(min_length=1, max_length=255)] | None = None  # default branch
    integration: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not _REPO_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not owner/name")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> WorkflowConnection:
        if self.integration is not None and self.provider is not None:
            raise ValueError(
                "give provider (a Git host Shipyard is configured for) or integration (a "
                "registered CI integration), not both"
            )
        return self


class CommandConnection(_Connection):
    """A command run by bash on the worker, in the step sandbox, the release's values as
    SHIPYARD_* environment variables."""

    type: Literal["command"] = "command"
    command: Annotated[str, Field(min_length=1, max_length=20000)]


Connection = Annotated[
    SshConnection | WebhookConnection | ApiConnection | WorkflowConnection | CommandConnection,
    Field(discriminator="type"),
]
_CONNECTION: TypeAdapter[Connection] = TypeAdapter(Connection)
CONNECTIONS: Mapping[str, type[BaseModel]] = {
    "ssh": SshConnection,
    "webhook": WebhookConnection,
    "api": ApiConnection,
    "workflow": WorkflowConnection,
    "command": CommandConnection,
}
assert tuple(CONNECTIONS) == TARGET_TYPES


def types_taking(field: str) -> tuple[str, ...]:
    """The target types whose connection has `field` (`url`: webhook and api)."""
    if field == "type":
        return ()
    return tuple(kind for kind, model in CONNECTIONS.items() if field in model.model_fields)


def check_fields(kind: str, fields: Iterable[str], spell: Callable[[str], str] = str) -> None:
    """InvalidTarget naming each of the connection `fields` a `kind` target does not take,
    and which types take it (`spell` writes a field as the caller knows it: `--known-host`)."""
    if kind not in CONNECTIONS:
        raise InvalidTarget(f"unknown target type {kind!r}; types are {', '.join(TARGET_TYPES)}")
    problems = []
    for field in fields:
        owners = types_taking(field)
        if kind in owners:
            continue
        if owners:
            problems.append(
                f"{spell(field)} is not for {kind} targets: it is for {_and(owners)} targets"
            )
        else:
            problems.append(f"{spell(field)} is not a connection setting of any target type")
    if problems:
        raise InvalidTarget("; ".join(problems))


def _and(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def parse_connection(data: Mapping[str, Any]) -> Connection:
    """A stored or given connection as its model; InvalidTarget saying what is wrong."""
    try:
        return _CONNECTION.validate_python(dict(data))
    except ValidationError as error:
        raise InvalidTarget(_message(error)) from None


class TargetSpec(BaseModel):
    """A target as it is registered: a name, its connection, a credential reference, labels,
    the repositories allowed to deploy to it (globs, required), and whether its deploy may
    safely run twice (`idempotent`: a task interrupted mid-deploy is run again)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    connection: Connection
    credential: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    repositories: tuple[str, ...]
    idempotent: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(f"{value!r}: a target name is letters, digits, '-' and '_'")
        return value

    @field_validator("credential")
    @classmethod
    def _credential(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_reference(value, allowed=CREDENTIAL_SCHEMES)
            except SecretError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            if not NAME.fullmatch(key) or len(label) > 200 or "\n" in label:
                raise ValueError(f"label {key}={label!r}: a key is a name, a value one line")
        return value

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(
                "the repositories allowed to deploy to it are required (globs such as "
                "acme/* or gitlab:group/**): a target no repository may use is useless"
            )
        try:
            return check_repositories(["target"], value)
        except InvalidAccount as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _needs_credential(self) -> TargetSpec:
        kind = self.connection.type
        if kind in ("ssh", "webhook", "api") and self.credential is None:
            what = {
                "ssh": "the private key (file:///path/to/key, or env://VAR holding it)",
                "webhook": "the secret the body is signed with",
                "api": "the bearer token",
            }[kind]
            raise ValueError(f"{kind} targets need a credential, {what}")
        return self

    @classmethod
    def parse(
        cls, data: Mapping[str, Any], spell: Callable[[str], str] | None = None
    ) -> TargetSpec:
        """`data` as a TargetSpec, or InvalidTarget saying every problem (each where it is,
        as `spell` writes it: `connection.known_host` → `--known-host`)."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as error:
            raise InvalidTarget(_message(error, spell)) from None

    def data(self) -> dict[str, Any]:
        """As JSON-like data that `parse` takes back (a connection's unset fields left out)."""
        data = self.model_dump(mode="json")
        data["connection"] = self.connection.model_dump(mode="json", exclude_none=True)
        return data


def merge_patch(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`current` with `patch` applied as a JSON merge patch (RFC 7396): a key given replaces,
    a null removes (back to its default), and a mapping given for a mapping is merged."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def patch_spec(
    spec: TargetSpec, patch: Mapping[str, Any], spell: Callable[[str], str] | None = None
) -> TargetSpec:
    """`spec` changed by `patch` (a merge patch of `TargetSpec.data()`; the name stays): a
    connection patch that changes the type replaces the connection whole. InvalidTarget when
    the result is not a valid target."""
    if "name" in patch and patch["name"] != spec.name:
        raise InvalidTarget("a target keeps its name: remove it and add it again to rename it")
    current = spec.data()
    connection = patch.get("connection")
    if isinstance(connection, Mapping) and connection.get("type", spec.connection.type) != (
        spec.connection.type
    ):
        current["connection"] = {}
    return TargetSpec.parse(merge_patch(current, patch), spell)


def _message(error: ValidationError, spell: Callable[[str], str] | None = None) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(_field_path(item["loc"]))
        if where and spell is not None:
            where = spell(where)
        text = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {text}" if where else text)
    return "; ".join(problems)


def _field_path(location: tuple[int | str, ...]) -> list[str]:
    """A problem's location without the type the connection union adds (the connection's
    first part, or the part after `connection`): `connection.workflow.workflow` is the
    workflow connection's `workflow` field."""
    parts = [str(part) for part in location]
    tag = 1 if parts[:1] == ["connection"] else 0
    if len(parts) > tag and parts[tag] in TARGET_TYPES:
        del parts[tag]
    return parts
