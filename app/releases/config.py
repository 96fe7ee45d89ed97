"""The `components:` and `releases:` sections of `.shipyard.yml`: what a release is made of,
what it is called, and which events make one.

```yaml
components:
  web:    {image: registry.example.com/acme/web, tag: "{{ sha }}", registry: prod-registry}
  worker: {image: registry.example.com/acme/worker}
releases:
  name: "{{ repo.name }}-{{ tag }}"
  from:
    - tag: ["v*"]
    - release: [published]
    - registry: {component: web, tags: ["v*"]}
    - ci: {status: [success], branches: [main]}
```

A component's `tag` is which image a commit built (a template over `sha`, `short_sha`, `tag`,
`branch`, `version`; default the commit's sha). Registry credentials are never here: they are
the server's. A component's `registry:` names the registry integration that resolves its
digests, with that integration's endpoint and credential; without it, the docker-registry
integration of the image's host does (`shipyard registries add HOST`), or none (anonymous).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from app.pipelines.config import PIPELINE_STATUSES, RELEASE_ACTIONS
from app.repo_config.errors import custom_error
from app.repo_config.fields import FrozenModel, Globs, Template, named, none_as_empty, one_of
from app.repo_config.schema import RepoConfig, Section

__all__ = [
    "COMPONENTS",
    "RELEASES",
    "CiRule",
    "ComponentSpec",
    "RegistryRule",
    "ReleaseRule",
    "ReleasesConfig",
    "component_problems",
    "components_of",
    "releases_of",
]

DEFAULT_COMPONENT_TAG = "{{ sha }}"
_IMAGE = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?"  # the registry's host (and port)
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+"  # the repository's path
)


def _image(value: str) -> str:
    if "@" in value or not _IMAGE.fullmatch(value):
        raise custom_error(
            f"image {value!r} must be a repository such as registry.example.com/acme/web "
            "(lower case, no tag and no digest: the tag is `tag:`)"
        )
    return value


# An integration's name, as the server registers it (app.integrations.store.NAME).
_INTEGRATION = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


def _integration(value: str) -> str:
    if not _INTEGRATION.fullmatch(value):
        raise custom_error(
            f"registry {value!r} must name a registry integration of the server, such as "
            "prod-registry (lower-case letters, digits, '.', '_' and '-')"
        )
    return value


class ComponentSpec(FrozenModel):
    image: Annotated[str, AfterValidator(_image)]
    tag: Template = DEFAULT_COMPONENT_TAG
    registry: Annotated[str, AfterValidator(_integration)] | None = None


ComponentName = Annotated[str, named("component name")]
Components = Annotated[dict[ComponentName, ComponentSpec], BeforeValidator(none_as_empty)]

ReleaseAction = Annotated[str, one_of("release action", RELEASE_ACTIONS)]
CiStatus = Annotated[str, one_of("CI status", PIPELINE_STATUSES)]


class RegistryRule(FrozenModel):
    component: ComponentName
    tags: Globs | None = None  # None: every tag pushed


class CiRule(FrozenModel):
    status: Annotated[tuple[CiStatus, ...], Field(min_length=1)] = ("success",)
    branches: Globs | None = None  # None: every branch of the repository itself


def _list_shorthand(key: str) -> BeforeValidator:
    """`tag: [v*]` is `tag: {tags: [v*]}`, and `tag: v*` is `tag: [v*]`; `ci: {…}` stays as
    written."""

    def expand(value: object) -> object:
        if isinstance(value, str):
            return {key: [value]}
        return {key: value} if isinstance(value, list) else value

    return BeforeValidator(expand)


class _TagRule(FrozenModel):
    tags: Globs | None = None


class _ReleaseRule(FrozenModel):
    actions: Annotated[tuple[ReleaseAction, ...], Field(min_length=1)] = ("published",)


class ReleaseRule(FrozenModel):
    """One entry of `from:`: exactly one of its keys."""

    tag: Annotated[_TagRule, _list_shorthand("tags")] | None = None
    release: Annotated[_ReleaseRule, _list_shorthand("actions")] | None = None
    registry: RegistryRule | None = None
    ci: Annotated[CiRule, _list_shorthand("status")] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ReleaseRule:
        given = [key for key in ("tag", "release", "registry", "ci") if getattr(self, key)]
        if len(given) != 1:
            raise custom_error(
                "each entry of `from:` is one of `tag:`, `release:`, `registry:` or `ci:`"
                + (f", not {' and '.join(given)} together" if given else "")
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _empty_means_any(cls, value: Any) -> Any:
        """`- tag:` (nothing under it) is every tag; `- release:` every published release."""
        if isinstance(value, dict):
            return {key: {} if item is None else item for key, item in value.items()}
        return value


class ReleasesConfig(FrozenModel):
    name: Template | None = None  # default: the tag, else the short sha
    from_: Annotated[tuple[ReleaseRule, ...], Field(alias="from")] = ()


def _declares(config: ReleasesConfig) -> bool:
    return bool(config.from_)


COMPONENTS: Section[dict[str, ComponentSpec]] = Section("components", Components, {}, declares=None)
RELEASES: Section[ReleasesConfig] = Section(
    "releases",
    Annotated[ReleasesConfig, BeforeValidator(none_as_empty)],
    ReleasesConfig(),
    declares=_declares,
)


def components_of(config: RepoConfig) -> dict[str, ComponentSpec]:
    return COMPONENTS.of(config)


def releases_of(config: RepoConfig) -> ReleasesConfig:
    return RELEASES.of(config)


def component_problems(config: RepoConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems across the two sections: a `registry:` rule names a declared component."""
    components = components_of(config)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, rule in enumerate(releases_of(config).from_):
        if rule.registry is not None and rule.registry.component not in components:
            declared = ", ".join(components) or "none are declared under `components:`"
            problems.append(
                (
                    ("releases", "from", index, "registry", "component"),
                    f"unknown component {rule.registry.component!r} (components: {declared})",
                )
            )
    return problems
