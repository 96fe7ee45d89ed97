"""The nginx-config artifact: an `upstream` of the environment's targets and a `server` that
proxies to it, or the repository's template rendered with them (pure).

The upstream is `shipyard_<environment>`, one `server host:port;` per target with a host
(`port:` of the spec, 80 by default; an IPv6 address in brackets); the server listens on 80
for `server_name` (`_` by default: any name). A template sees the values
`values.template_values` lists and `nginx`: `upstream`, `servers` (`host:port` each), `port`
and `server_name`. A host or server name that would end a directive or open a block (`;`,
`{`, `}`, quotes, `#`, blanks) is an error rather than a way to write other directives.
"""

from __future__ import annotations

import re
from typing import Any

from app.deployments.artifacts.base import Artifact, ArtifactError, ArtifactInputs
from app.deployments.artifacts.rendering import builtin_template, render_file, template_source
from app.deployments.artifacts.values import template_values
from app.environments.config import ArtifactSpec

__all__ = ["BUILTIN", "DEFAULT_FILENAME", "DEFAULT_PORT", "KIND", "generate", "nginx_values"]

KIND = "nginx-config"
DEFAULT_FILENAME = "shipyard.nginx.conf"
BUILTIN = "nginx.conf.j2"
DEFAULT_PORT = 80
DEFAULT_SERVER_NAME = "_"
_BREAKS_SYNTAX = re.compile(r"[;{}'\"#\s\x00-\x1f\x7f]")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def _word(value: str, what: str) -> str:
    if not value or _BREAKS_SYNTAX.search(value) or value.endswith("\\"):
        raise ArtifactError(
            f"{KIND}: {what} {value!r} cannot be written into an nginx directive (no blanks, "
            "';', '{', '}', quotes or '#', and no trailing backslash)"
        )
    return value


def _server_name(given: str | None) -> str:
    names = (given or DEFAULT_SERVER_NAME).split()
    if not names:
        raise ArtifactError(f"{KIND}: `server_name` is empty; give a name, or `_` for any")
    return " ".join(_word(name, "server name") for name in names)


def _servers(inputs: ArtifactInputs, port: int) -> list[str]:
    servers: list[str] = []
    for target in inputs.targets:
        if not target.host:
            continue
        host = _word(target.host, f"target {target.name!r}'s host")
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        servers.append(f"{host}:{port}")
    return list(dict.fromkeys(servers))


def nginx_values(spec: ArtifactSpec, inputs: ArtifactInputs) -> dict[str, Any]:
    """`nginx` as a template sees it."""
    port = spec.port or DEFAULT_PORT
    return {
        "upstream": "shipyard_" + _NOT_NAME.sub("_", inputs.environment),
        "servers": _servers(inputs, port),
        "port": port,
        "server_name": _server_name(spec.server_name),
    }


def generate(spec: ArtifactSpec, inputs: ArtifactInputs) -> Artifact:
    """The nginx config for `inputs`, from the spec's template or the built-in one."""
    nginx = nginx_values(spec, inputs)
    if spec.template:
        label = f"{KIND}: template {spec.template!r}"
        source = template_source(KIND, spec.template, inputs)
    elif not nginx["servers"]:
        names = ", ".join(target.name for target in inputs.targets) or "none"
        raise ArtifactError(
            f"{KIND}: no target of {inputs.environment} has a host to proxy to (targets: "
            f"{names}); the built-in config needs ssh targets, or give a `template:`"
        )
    else:
        label = f"{KIND}: built-in template"
        source = builtin_template(BUILTIN)
    text = render_file(label, source, {**template_values(inputs), "nginx": nginx})
    return Artifact.of(KIND, spec.filename or DEFAULT_FILENAME, text.encode("utf-8"))
