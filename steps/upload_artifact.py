"""The `upload_artifact` step: keep files from the workspace under the data directory.

Files land in `<data_dir>/artifacts/<run id>/<name>/`, at their path relative to workspace/src
(or the workspace when there is no checkout). A matched directory brings its files. Anything
under `.git` is left out. A file that resolves outside the workspace or into a `.git` (a
symlink a pull request added, `../`) fails the step rather than being copied: artifacts are
readable by people who may not read the worker's disk. Messages name paths as the workspace
sees them, never the worker's. A retry replaces what an earlier attempt copied.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from pydantic import Field, field_validator

from steps.base import StepConfig, StepContext, StepFailed

__all__ = ["UploadArtifact", "step"]

_NAME = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_CHUNK = 1024 * 1024


class UploadArtifactConfig(StepConfig):
    paths: list[str] = Field(min_length=1)  # globs, `**` included
    name: str | None = None  # default: the step name

    @field_validator("paths")
    @classmethod
    def _relative(cls, paths: list[str]) -> list[str]:
        for pattern in paths:
            pure = PurePosixPath(pattern)
            if not pattern.strip() or pure.is_absolute() or ".." in pure.parts:
                raise ValueError(f"{pattern!r}: give a path relative to the workspace, no '..'")
        return paths

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str | None) -> str | None:
        if name is not None and not _NAME.match(name):
            raise ValueError(f"{name!r}: use letters, digits, '.', '_' and '-'")
        return name


class UploadArtifact:
    type_name: ClassVar[str] = "upload_artifact"
    Config: ClassVar[type[StepConfig]] = UploadArtifactConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        assert isinstance(config, UploadArtifactConfig)
        name = config.name or ctx.name
        if not _NAME.match(name):
            raise StepFailed(f"artifact name {name!r} is not a safe directory name; set `name`")
        destination, files = await asyncio.to_thread(
            _copy_all, ctx.workspace, config.paths, ctx.artifacts / name
        )
        for entry in files:
            ctx.log(f"{entry['path']}  {entry['size']} bytes  sha256:{entry['sha256']}")
        return {"files": files, "directory": str(destination), "name": name}


step = UploadArtifact()


def _copy_all(
    workspace: Path, patterns: list[str], destination: Path
) -> tuple[Path, list[dict[str, Any]]]:
    root = workspace.resolve()
    base = root / "src" if (root / "src").is_dir() else root
    sources = _match(root, base, patterns)
    if not sources:
        where = "workspace/src" if base != root else "the workspace"
        raise StepFailed(f"no files match {', '.join(patterns)} under {where}")
    destination = destination.resolve()
    shutil.rmtree(destination, ignore_errors=True)
    files = [
        {"path": relative, **_copy(source, destination / relative)}
        for relative, source in sources.items()
    ]
    return destination, files


def _match(root: Path, base: Path, patterns: list[str]) -> dict[str, Path]:
    """Relative path (posix) -> file, for every file the patterns match, sorted."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        for match in base.glob(pattern):
            candidates = sorted(match.rglob("*")) if match.is_dir() else [match]
            for path in candidates:
                relative = path.relative_to(base)
                if ".git" in relative.parts or path.is_dir():
                    continue
                resolved = path.resolve()
                if not resolved.is_relative_to(root):
                    raise StepFailed(f"{relative.as_posix()} leads outside the workspace")
                if ".git" in resolved.relative_to(root).parts:
                    raise StepFailed(f"{relative.as_posix()} leads into a .git directory")
                if resolved.is_file():
                    found[relative.as_posix()] = resolved
    return dict(sorted(found.items()))


def _copy(source: Path, target: Path) -> dict[str, Any]:
    """Copy one file, hashing it on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    shutil.copymode(source, target)
    return {"size": size, "sha256": digest.hexdigest()}
