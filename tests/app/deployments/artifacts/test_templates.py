"""Repository templates: what they see, and an ArtifactError naming the template, the line
and the problem when one is missing or does not render; the kind table and
`templates_needed`."""

from __future__ import annotations

import dataclasses

import pytest

from app.deployments.artifacts import (
    ArtifactError,
    ArtifactInputs,
    ComponentView,
    TargetView,
    generate,
    templates_needed,
)
from app.environments.config import ArtifactSpec

INPUTS = ArtifactInputs(
    provider="gitea",
    repository="acme/web",
    environment="staging",
    release_id=5,
    release_name="v2.0.0",
    release_version="2.0.0",
    commit=None,
    components=[ComponentView("web", "git.acme.example/acme/web", None, "2.0.0")],
    targets=[TargetView("box", "ssh", "box.internal", 22, {"port": "8000"})],
    job_id=9,
    params={"colour": "blue"},
)
TEMPLATED_KINDS = ("compose-file", "systemd-unit", "nginx-config", "compose-lock")


def _spec(kind: str, path: str = "deploy/file.j2") -> ArtifactSpec:
    return ArtifactSpec.model_validate({kind: {"template": path}})


def _render(kind: str, source: str) -> str:
    inputs = dataclasses.replace(INPUTS, templates={"deploy/file.j2": source})
    return generate(_spec(kind), inputs).content.decode()


def test_a_template_sees_the_jobs_values() -> None:
    source = (
        "{{ release.name }} {{ release.version }} {{ release.id }} [{{ release.commit }}]\n"
        "{{ environment }} {{ repository }} {{ provider }} job {{ job.id }}\n"
        "{% for c in components %}{{ c.name }}={{ c.ref }} {{ images[c.name] }}{% endfor %}\n"
        "{% for t in targets %}{{ t.name }} {{ t.host }}:{{ t.labels.port }}{% endfor %}\n"
        "{{ params.colour }} {{ unit.service }}\n"
    )
    assert _render("systemd-unit", source) == (
        "v2.0.0 2.0.0 5 []\n"
        "staging acme/web gitea job 9\n"
        "web=git.acme.example/acme/web:2.0.0 git.acme.example/acme/web:2.0.0\n"
        "box box.internal:8000\n"
        "blue web\n"
    )


def test_an_nginx_template_sees_the_upstream_it_would_write() -> None:
    spec = ArtifactSpec.model_validate(
        {"nginx-config": {"template": "deploy/file.j2", "port": 8000, "server_name": "a.example"}}
    )
    source = "{{ nginx.upstream }} {{ nginx.servers | join(',') }} {{ nginx.server_name }}"
    inputs = dataclasses.replace(INPUTS, templates={"deploy/file.j2": source})
    assert generate(spec, inputs).content == b"shipyard_staging box.internal:8000 a.example"


@pytest.mark.parametrize("kind", TEMPLATED_KINDS)
def test_a_template_missing_from_the_repository_is_an_error_naming_it(kind: str) -> None:
    with pytest.raises(ArtifactError) as raised:
        generate(_spec(kind, "deploy/gone.j2"), INPUTS)
    assert str(raised.value).startswith(f"{kind}: template 'deploy/gone.j2' is not in acme/web")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("ok\n{% for x in %}\n", "line 2: syntax error: Expected an expression"),
        ("a\nb\n{{ nope }}\n", "line 3: 'nope' is undefined"),
        ("{{ release.nmae }}", "line 1: 'dict object' has no attribute 'nmae'"),
        ("{{ targets[0].labels.zone }}", "line 1: 'dict object' has no attribute 'zone'"),
        ("{{ ''.__class__ }}", "line 1: refused by the sandbox"),
        ("{{ 'x' * 100000000 }}", "line 1: refused by the sandbox: repeating a value"),
        ("{{ params.update({}) }}", "line 1: refused by the sandbox"),
    ],
)
@pytest.mark.parametrize("kind", ["compose-file", "systemd-unit", "nginx-config"])
def test_a_template_that_does_not_render_is_an_error(kind: str, source: str, problem: str) -> None:
    with pytest.raises(ArtifactError) as raised:
        _render(kind, source)
    assert str(raised.value).startswith(f"{kind}: template 'deploy/file.j2', {problem}")


def test_a_compose_template_must_render_to_a_compose_file() -> None:
    with pytest.raises(ArtifactError, match=r"does not render to YAML"):
        _render("compose-file", 'services:\n  web:\n    image: "{{ release.name }}" x\n')
    with pytest.raises(ArtifactError, match=r"does not render to a compose file"):
        _render("compose-file", "just text")


def test_values_in_text_are_never_a_python_repr() -> None:
    source = "{{ release.commit }}|{{ job }}|{{ [1, 'a'] }}|{{ true }}"
    assert _render("systemd-unit", source) == '|{"id": 9}|[1, "a"]|true'


def test_templates_needed_lists_each_path_once() -> None:
    specs = [
        _spec("compose-file", "deploy/b.j2"),
        _spec("systemd-unit", "deploy/a.j2"),
        _spec("nginx-config", "deploy/b.j2"),
        ArtifactSpec.model_validate("manifest"),
    ]
    assert templates_needed(specs) == ["deploy/a.j2", "deploy/b.j2"]
    assert templates_needed([ArtifactSpec.model_validate("env-file")]) == []


def test_an_unknown_kind_is_an_error_listing_the_kinds() -> None:
    spec = ArtifactSpec.model_construct(kind="helm-chart")
    with pytest.raises(ArtifactError, match=r"unknown artifact kind 'helm-chart' \(kinds: compose"):
        generate(spec, INPUTS)
