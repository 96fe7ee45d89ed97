"""upload_artifact: globs, relative paths kept, sha256 while copying, nothing outside."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from steps.base import StepFailed
from steps.upload_artifact import UploadArtifactConfig, step
from tests.support.steps import StepHarness


@pytest.fixture
def src(harness: StepHarness) -> Path:
    src = harness.workspace / "src"
    (src / "dist" / "sub").mkdir(parents=True)
    (src / "dist" / "app.tar.gz").write_bytes(b"\x1f\x8b" + os.urandom(3 * 1024 * 1024))
    (src / "dist" / "sub" / "notes.txt").write_text("notes\n")
    (src / "README.md").write_text("readme\n")
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text("[core]\n")
    return src


def listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_copies_matches_with_paths_sizes_and_hashes(
    harness: StepHarness, src: Path, tmp_path: Path
) -> None:
    outputs = await step.run(
        harness.context(name="build"),
        UploadArtifactConfig(paths=["dist/**/*.tar.gz", "dist/sub", "README.md"]),
    )

    directory = tmp_path / "data" / "artifacts" / "1" / "build"
    assert outputs["directory"] == str(directory.resolve())
    assert outputs["files"] == [
        {"path": "README.md", "size": 7, "sha256": sha256(src / "README.md")},
        {
            "path": "dist/app.tar.gz",
            "size": (src / "dist" / "app.tar.gz").stat().st_size,
            "sha256": sha256(src / "dist" / "app.tar.gz"),
        },
        {"path": "dist/sub/notes.txt", "size": 6, "sha256": sha256(src / "dist/sub/notes.txt")},
    ]
    for entry in outputs["files"]:
        assert sha256(directory / entry["path"]) == entry["sha256"]


async def test_git_internals_are_left_out(harness: StepHarness, src: Path) -> None:
    outputs = await step.run(harness.context(), UploadArtifactConfig(paths=["**/*"]))
    assert ".git/config" not in [f["path"] for f in outputs["files"]]
    assert "README.md" in [f["path"] for f in outputs["files"]]


async def test_a_retry_replaces_the_earlier_copy(harness: StepHarness, src: Path) -> None:
    first = await step.run(harness.context(), UploadArtifactConfig(paths=["dist"], name="out"))
    second = await step.run(
        harness.context(), UploadArtifactConfig(paths=["README.md"], name="out")
    )
    assert first["directory"] == second["directory"]
    assert listing(Path(second["directory"])) == ["README.md"]


async def test_without_src_paths_are_relative_to_the_workspace(harness: StepHarness) -> None:
    (harness.workspace / "report.xml").write_text("<ok/>")
    outputs = await step.run(harness.context(), UploadArtifactConfig(paths=["*.xml"]))
    assert [f["path"] for f in outputs["files"]] == ["report.xml"]


async def test_nothing_matched_fails_naming_no_worker_path(harness: StepHarness, src: Path) -> None:
    with pytest.raises(StepFailed, match="no files match") as failure:
        await step.run(harness.context(), UploadArtifactConfig(paths=["*.whl"]))
    assert str(failure.value) == "no files match *.whl under workspace/src"


async def test_a_symlink_into_git_fails(harness: StepHarness, src: Path) -> None:
    (src / "dist" / "config").symlink_to(src / ".git" / "config")

    with pytest.raises(StepFailed, match=r"dist/config leads into a \.git directory"):
        await step.run(harness.context(), UploadArtifactConfig(paths=["dist"]))
    assert not harness.artifacts.exists()


async def test_a_symlink_out_of_the_workspace_fails(
    harness: StepHarness, src: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    (src / "dist" / "key").symlink_to(secret)

    with pytest.raises(StepFailed, match="dist/key leads outside the workspace"):
        await step.run(harness.context(), UploadArtifactConfig(paths=["dist"]))
    assert not (tmp_path / "data" / "artifacts").exists()


@pytest.mark.parametrize(
    "config",
    [
        {"paths": []},
        {"paths": ["../secrets"]},
        {"paths": ["/etc/passwd"]},
        {"paths": ["dist/../../x"]},
        {"paths": ["dist"], "name": "../up"},
        {"paths": ["dist"], "name": "a/b"},
    ],
)
def test_config_refuses_escapes(config: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        UploadArtifactConfig.model_validate(config)
