"""What a job runs, as the gate saw it when the promotion was accepted (pure): the environment
from the repository's config, the targets as the server had them, the release's components,
and the default branch its templates are read at. Stored in the job's `spec`, so a job runs
what was decided, whatever changes in the config or on the server while it waits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.db.models.deployments import DeploymentJob, Target
from app.db.models.releases import Release
from app.deployments.artifacts.base import ComponentView, TargetView
from app.deployments.executors.base import TargetInfo
from app.deployments.targets.spec import parse_connection
from app.environments.config import EnvironmentSpec

__all__ = ["JobSpec", "ReleaseView", "components_of", "release_view", "snapshot"]


@dataclass(frozen=True)
class ReleaseView:
    """What a job needs of a release."""

    id: int
    name: str
    version: str
    commit: str | None
    tag: str | None
    components: tuple[ComponentView, ...]

    def digests(self) -> dict[str, str]:
        return {c.name: c.digest for c in self.components if c.digest}

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "commit": self.commit,
            "tag": self.tag,
            "components": [
                {"name": c.name, "image": c.image, "digest": c.digest, "tag": c.tag}
                for c in self.components
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleaseView:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            version=str(data["version"]),
            commit=data.get("commit"),
            tag=data.get("tag"),
            components=tuple(ComponentView(**c) for c in data.get("components", [])),
        )


def components_of(release: Release, only: Sequence[str] | None) -> tuple[ComponentView, ...]:
    """The release's components an environment deploys (`components:`, default all)."""
    views = tuple(
        ComponentView(
            name=str(c.get("name")),
            image=str(c.get("image")),
            digest=c.get("digest"),
            tag=c.get("tag"),
        )
        for c in release.components
    )
    return views if only is None else tuple(c for c in views if c.name in only)


def release_view(release: Release, only: Sequence[str] | None = None) -> ReleaseView:
    assert release.id is not None
    return ReleaseView(
        id=release.id,
        name=release.name,
        version=release.version,
        commit=release.commit_sha,
        tag=release.tag,
        components=components_of(release, only),
    )


@dataclass(frozen=True)
class JobSpec:
    """A job's `spec`, read back."""

    environment: EnvironmentSpec
    targets: Mapping[str, TargetInfo]
    release: ReleaseView
    default_branch: str
    url: str | None
    dry_run: bool = False  # a noop: everything but the executors' acts

    @classmethod
    def of(cls, job: DeploymentJob) -> JobSpec:
        """The job's spec, parsed once per job in this process (what a job runs never
        changes once it is made: later additions to its `spec` are the plan's, not these)."""
        key = _key(job)
        parsed = _PARSED.pop(key, None) or cls._parse(job.spec)
        _PARSED[key] = parsed  # the newest last: the oldest go first
        while len(_PARSED) > _KEEP:
            del _PARSED[next(iter(_PARSED))]
        return parsed

    @classmethod
    def known(cls, job: DeploymentJob) -> JobSpec | None:
        """The job's spec if this process has parsed it already (then a job read without its
        spec will do)."""
        return _PARSED.get(_key(job))

    @classmethod
    def _parse(cls, spec: Mapping[str, Any]) -> JobSpec:
        return cls(
            environment=EnvironmentSpec.model_validate(spec["environment"]),
            targets={
                name: TargetInfo(
                    name=name,
                    connection=parse_connection(target["connection"]),
                    credential=target.get("credential"),
                    labels=target.get("labels", {}),
                    idempotent=bool(target.get("idempotent")),
                )
                for name, target in spec["targets"].items()
            },
            release=ReleaseView.from_json(spec["release"]),
            default_branch=str(spec.get("default_branch") or "main"),
            url=spec.get("url"),
            dry_run=bool(spec.get("dry_run")),
        )

    def target_view(self, name: str) -> TargetView:
        target = self.targets[name]
        return TargetView(
            name=name,
            type=target.type,
            host=target.host,
            port=getattr(target.connection, "port", None),
            labels=dict(target.labels),
        )


_KEEP = 64  # the jobs a process runs at once, and some
_PARSED: dict[tuple[object, ...], JobSpec] = {}


def _key(job: DeploymentJob) -> tuple[object, ...]:
    return (job.id, job.created_at, job.provider, job.repository, job.environment)


def snapshot(
    environment: EnvironmentSpec,
    targets: Mapping[str, Target],
    release: ReleaseView,
    *,
    default_branch: str,
    url: str | None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """The `spec` a new job stores: the environment as written (unset options left out, so it
    reads back the same), the targets it names, the release, the default branch; a noop's
    `dry_run`."""
    used = set(environment.targets)
    switch = getattr(environment.strategy, "switch", None)
    if switch is not None and switch.target is not None:
        used.add(switch.target)
    return {
        "environment": environment.model_dump(mode="json", exclude_unset=True, by_alias=True),
        "targets": {
            name: {
                "type": row.type,
                "connection": row.connection,
                "credential": row.credential,
                "labels": row.labels,
                "idempotent": row.idempotent,
            }
            for name, row in targets.items()
            if name in used
        },
        "release": release.as_json(),
        "default_branch": default_branch,
        "url": url,
        **({"dry_run": True} if dry_run else {}),
    }
