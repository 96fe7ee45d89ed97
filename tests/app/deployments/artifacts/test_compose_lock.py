"""The compose lock: images pinned by digest (built-in services or a repository's compose
file), the release's labels, and the self digest that `verify_compose_lock` recomputes."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
import yaml

from app.deployments.artifacts import (
    ArtifactError,
    ArtifactInputs,
    ComponentView,
    generate,
    verify_compose_lock,
)
from app.deployments.artifacts.values import same_repository, strip_reference
from app.environments.config import ArtifactSpec

WEB = "sha256:" + "a" * 64
WORKER = "sha256:" + "b" * 64
INPUTS = ArtifactInputs(
    provider="github",
    repository="acme/web",
    environment="production",
    release_id=42,
    release_name="v1.4.0",
    release_version="1.4.0",
    commit="9f2c1e7",
    components=[
        ComponentView("web", "ghcr.io/acme/web", WEB),
        ComponentView("worker", "docker.io/acme/worker", WORKER),
    ],
    targets=[],
    job_id=7,
)
LOCK = ArtifactSpec.model_validate("compose-lock")
TEMPLATED = ArtifactSpec.model_validate({"compose-lock": {"template": "deploy/compose.yml"}})


def _lock(inputs: ArtifactInputs = INPUTS, spec: ArtifactSpec = LOCK) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(generate(spec, inputs).content)
    return parsed


def _with_template(text: str, **changes: Any) -> ArtifactInputs:
    return dataclasses.replace(INPUTS, templates={"deploy/compose.yml": text}, **changes)


def test_the_built_in_lock_runs_each_component_by_digest_with_the_release_labels() -> None:
    services = _lock()["services"]
    assert {name: service["image"] for name, service in services.items()} == {
        "web": f"ghcr.io/acme/web@{WEB}",
        "worker": f"docker.io/acme/worker@{WORKER}",
    }
    assert services["worker"]["labels"] == {
        "org.shipyard.commit": "9f2c1e7",
        "org.shipyard.component": "worker",
        "org.shipyard.environment": "production",
        "org.shipyard.release": "v1.4.0",
        "org.shipyard.release-id": "42",
    }


def test_the_default_file_name_and_an_override() -> None:
    assert generate(LOCK, INPUTS).filename == "shipyard.compose.lock.yml"
    spec = ArtifactSpec.model_validate({"compose-lock": {"filename": "stack.lock.yml"}})
    assert generate(spec, INPUTS).filename == "stack.lock.yml"


def test_the_recorded_digest_is_the_file_with_that_value_empty() -> None:
    content = generate(LOCK, INPUTS).content
    recorded = yaml.safe_load(content)["x-shipyard"]["generated"]["digest"]
    blank = content.replace(f'    digest: "{recorded}"'.encode(), b'    digest: ""')
    assert blank != content
    assert recorded == "sha256:" + hashlib.sha256(blank).hexdigest()
    assert verify_compose_lock(content)


@pytest.mark.parametrize(
    "change",
    [
        lambda text: text.replace(WEB[-8:], "cccccccc"),  # another image
        lambda text: text.replace("v1.4.0", "v1.4.1"),  # another release label
        lambda text: text + "\n",  # one byte more
        lambda text: text.replace('digest: "sha256:', 'digest: "sha256:0', 1),
        lambda text: text.replace("x-shipyard:", "x-other:"),
    ],
)
def test_any_change_to_the_file_fails_verification(change: Any) -> None:
    text = generate(LOCK, INPUTS).content.decode()
    changed = change(text)
    assert changed != text
    assert not verify_compose_lock(changed.encode())


def test_a_component_without_a_digest_is_an_error_saying_so() -> None:
    inputs = dataclasses.replace(
        INPUTS, components=[ComponentView("web", "ghcr.io/acme/web", None, "9f2c1e7")]
    )
    with pytest.raises(ArtifactError, match=r"component 'web' of release 'v1\.4\.0' has no image"):
        generate(LOCK, inputs)


def test_a_release_without_components_is_an_error() -> None:
    with pytest.raises(ArtifactError, match="has no components"):
        generate(LOCK, dataclasses.replace(INPUTS, components=[]))


TEMPLATE = """
services:
  web:
    image: ghcr.io/acme/web:latest
    labels: {traefik.enable: "true", org.shipyard.release: stale}
  worker:
    image: acme/worker
    labels: ["a=b"]
  cache:
    image: redis:7
  built:
    build: .
x-shipyard: {generated: {digest: old}}
x-other: {keep: me}
"""


def test_a_template_pins_the_services_that_run_a_component_and_keeps_the_others() -> None:
    lock = _lock(_with_template(TEMPLATE), TEMPLATED)
    services = lock["services"]
    assert services["web"]["image"] == f"ghcr.io/acme/web@{WEB}"
    assert services["web"]["labels"]["traefik.enable"] == "true"
    assert services["web"]["labels"]["org.shipyard.release"] == "v1.4.0"
    assert services["worker"]["image"] == f"docker.io/acme/worker@{WORKER}"
    assert services["worker"]["labels"][0] == "a=b"
    assert "org.shipyard.component=worker" in services["worker"]["labels"]
    assert services["cache"] == {"image": "redis:7"}
    assert services["built"] == {"build": "."}
    assert lock["x-other"] == {"keep": "me"}
    assert lock["x-shipyard"]["job"] == 7
    assert verify_compose_lock(generate(TEMPLATED, _with_template(TEMPLATE)).content)


def test_services_sharing_an_anchor_are_pinned_each_on_its_own() -> None:
    template = """
x-base: &base {image: "ghcr.io/acme/web:1", labels: {tier: web}}
services:
  one: *base
  two: *base
"""
    text = generate(TEMPLATED, _with_template(template)).content.decode()
    assert "&" not in text
    assert "*" not in text
    lock = yaml.safe_load(text)
    assert lock["x-base"] == {"image": "ghcr.io/acme/web:1", "labels": {"tier": "web"}}
    assert lock["services"]["one"]["image"] == lock["services"]["two"]["image"]


def test_a_template_that_runs_no_component_is_an_error() -> None:
    template = "services:\n  cache:\n    image: redis:7\n"
    with pytest.raises(ArtifactError, match=r"no service of template 'deploy/compose\.yml'"):
        generate(TEMPLATED, _with_template(template))


def test_a_template_service_of_a_component_without_a_digest_is_an_error() -> None:
    inputs = _with_template(TEMPLATE, components=[ComponentView("web", "ghcr.io/acme/web", None)])
    with pytest.raises(ArtifactError, match="has no image digest"):
        generate(TEMPLATED, inputs)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("services: [web", "is not YAML"),
        ("- just\n- a list\n", "is not a compose file"),
        ("version: '3'\n", "is not a compose file"),
    ],
)
def test_a_template_that_is_no_compose_file_is_an_error(text: str, problem: str) -> None:
    with pytest.raises(ArtifactError, match=problem):
        generate(TEMPLATED, _with_template(text))


def test_a_missing_template_is_an_error_naming_it() -> None:
    with pytest.raises(ArtifactError, match=r"template 'deploy/compose\.yml' is not in acme/web"):
        generate(TEMPLATED, INPUTS)


@pytest.mark.parametrize(
    ("reference", "image", "same"),
    [
        ("ghcr.io/acme/web:1.2", "ghcr.io/acme/web", True),
        ("ghcr.io/acme/web@sha256:" + "0" * 64, "ghcr.io/acme/web", True),
        ("ghcr.io/acme/web:1.2@sha256:" + "0" * 64, "ghcr.io/acme/web", True),
        ("localhost:5000/web:1", "localhost:5000/web", True),
        ("nginx:1.25", "docker.io/library/nginx", True),
        ("acme/worker", "docker.io/acme/worker", True),
        ("index.docker.io/acme/worker:2", "docker.io/acme/worker", True),
        ("ghcr.io/acme/web-admin:1", "ghcr.io/acme/web", False),
        ("ghcr.io/other/web:1", "ghcr.io/acme/web", False),
        ("registry.example.com:5000/acme/web", "registry.example.com/acme/web", False),
    ],
)
def test_which_images_are_a_components(reference: str, image: str, same: bool) -> None:
    assert same_repository(reference, image) is same


def test_stripping_a_reference_keeps_a_registry_port() -> None:
    assert strip_reference("localhost:5000/web") == "localhost:5000/web"
    assert strip_reference("localhost:5000/web:2@sha256:00") == "localhost:5000/web"
