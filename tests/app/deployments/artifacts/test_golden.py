"""Every artifact kind's bytes for two sample jobs, compared with the files under
tests/samples/artifacts/<case>/ (`default`: built-in generators; `templated`: the repository's
templates in tests/samples/artifacts/repository/).

When a generator's output is meant to change, rewrite the files with
`SHIPYARD_WRITE_GOLDEN=1 pytest tests/app/deployments/artifacts/test_golden.py` (the run then
fails, on purpose, listing what it wrote) and review the diff before committing it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import pytest
import yaml

from app.deployments.artifacts import (
    GENERATORS,
    ArtifactInputs,
    ComponentView,
    TargetView,
    generate,
    secret_references,
    templates_needed,
    verify_compose_lock,
)
from app.environments.config import ARTIFACT_KINDS, ArtifactSpec
from tests.support.samples import SAMPLES

FOLDER = SAMPLES / "artifacts"
REPOSITORY = FOLDER / "repository"
CASES = ("default", "templated")


def _case(name: str) -> tuple[list[ArtifactSpec], ArtifactInputs]:
    raw: dict[str, Any] = json.loads((FOLDER / name / "inputs.json").read_text())
    specs = [ArtifactSpec.model_validate(spec) for spec in raw["specs"]]
    values = raw["inputs"]
    inputs = ArtifactInputs(
        **{
            **values,
            "components": [ComponentView(**component) for component in values["components"]],
            "targets": [TargetView(**target) for target in values["targets"]],
            "templates": {
                path: (REPOSITORY / path).read_text() for path in templates_needed(specs)
            },
        }
    )
    return specs, inputs


def _reordered(inputs: ArtifactInputs) -> ArtifactInputs:
    """Equal inputs whose mappings were built in the opposite order."""
    return dataclasses.replace(
        inputs,
        params=dict(reversed(list(inputs.params.items()))),
        templates=dict(reversed(list(inputs.templates.items()))),
        targets=[
            dataclasses.replace(target, labels=dict(reversed(list(target.labels.items()))))
            for target in inputs.targets
        ],
    )


def test_every_kind_has_a_generator() -> None:
    assert sorted(GENERATORS) == sorted(ARTIFACT_KINDS)


def test_the_templated_case_names_its_templates() -> None:
    specs, _ = _case("templated")
    assert templates_needed(specs) == [
        "deploy/compose.yml",
        "deploy/compose.yml.j2",
        "deploy/nginx.conf.j2",
        "deploy/web.service.j2",
    ]


@pytest.mark.parametrize("case", CASES)
def test_each_kind_matches_its_golden_file(case: str) -> None:
    specs, inputs = _case(case)
    artifacts = [generate(spec, inputs) for spec in specs]
    assert [artifact.name for artifact in artifacts] == [spec.kind for spec in specs]
    if os.environ.get("SHIPYARD_WRITE_GOLDEN") == "1":
        for artifact in artifacts:
            (FOLDER / case / artifact.filename).write_bytes(artifact.content)
        pytest.fail(f"rewrote {', '.join(a.filename for a in artifacts)}: review the diff")
    expected = sorted(path.name for path in (FOLDER / case).iterdir() if path.name != "inputs.json")
    assert sorted(artifact.filename for artifact in artifacts) == expected
    for artifact in artifacts:
        assert artifact.content == (FOLDER / case / artifact.filename).read_bytes(), artifact.name


@pytest.mark.parametrize("case", CASES)
def test_the_same_inputs_give_the_same_bytes(case: str) -> None:
    specs, inputs = _case(case)
    first = [generate(spec, inputs) for spec in specs]
    again = [generate(spec, _reordered(inputs)) for spec in specs]
    assert [(a.filename, a.content, a.sha256) for a in first] == [
        (a.filename, a.content, a.sha256) for a in again
    ]


@pytest.mark.parametrize("case", CASES)
def test_each_compose_lock_records_the_job_and_its_own_digest(case: str) -> None:
    specs, inputs = _case(case)
    [spec] = [spec for spec in specs if spec.kind == "compose-lock"]
    content = generate(spec, inputs).content
    assert verify_compose_lock(content)
    block = yaml.safe_load(content)["x-shipyard"]
    assert block["release"]["name"] == inputs.release_name
    assert (block["environment"], block["job"]) == (inputs.environment, inputs.job_id)
    assert block["generated"]["digest"].startswith("sha256:")


@pytest.mark.parametrize("case", CASES)
def test_yaml_and_json_artifacts_parse(case: str) -> None:
    specs, inputs = _case(case)
    parsed = {spec.kind: generate(spec, inputs).content for spec in specs}
    assert isinstance(yaml.safe_load(parsed["compose-lock"])["services"], dict)
    assert isinstance(yaml.safe_load(parsed["compose-file"])["services"], dict)
    assert json.loads(parsed["manifest"])["job"] == {"id": inputs.job_id}


def test_only_the_env_file_holds_references() -> None:
    specs, inputs = _case("default")
    found = {spec.kind: secret_references(generate(spec, inputs)) for spec in specs}
    assert found.pop("env-file") == ["secret://db-password", "secret://sentry-dsn"]
    assert found == {kind: [] for kind in found}
