"""The systemd unit (its name, its escaping, accepted by systemd's own parser) and the nginx
config (its upstream, and values that would write other directives refused)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.deployments.artifacts import (
    ArtifactError,
    ArtifactInputs,
    ComponentView,
    TargetView,
    generate,
)
from app.deployments.artifacts.systemd_unit import DOCKER, exec_word
from app.environments.config import ArtifactSpec
from tests.support.services import IN_CI

DIGEST = "sha256:" + "c" * 64
INPUTS = ArtifactInputs(
    provider="github",
    repository="acme/web",
    environment="production",
    release_id=42,
    release_name="v1.4.0",
    release_version="1.4.0",
    commit="9f2c1e7",
    components=[
        ComponentView("web", "ghcr.io/acme/web", DIGEST),
        ComponentView("worker", "ghcr.io/acme/worker", "sha256:" + "d" * 64),
    ],
    targets=[
        TargetView("a", "ssh", "10.0.0.1", 22),
        TargetView("b", "ssh", "2001:db8::2", 22),
        TargetView("c", "ssh", "10.0.0.1", 2222),
        TargetView("hook", "webhook"),
    ],
    job_id=7,
)
UNIT = ArtifactSpec.model_validate("systemd-unit")
NGINX = ArtifactSpec.model_validate("nginx-config")


def _unit(inputs: ArtifactInputs = INPUTS, spec: ArtifactSpec = UNIT) -> str:
    return generate(spec, inputs).content.decode()


def _line(text: str, key: str) -> str:
    [found] = [line for line in text.splitlines() if line.startswith(f"{key}=")]
    return found[len(key) + 1 :]


# -- systemd


@pytest.mark.parametrize(
    ("repository", "service", "filename"),
    [
        ("acme/web", None, "web.service"),
        ("group/sub/.dotfiles", None, "dotfiles.service"),
        ("acme/web", "api", "api.service"),
    ],
)
def test_the_unit_is_named_for_the_service(
    repository: str, service: str | None, filename: str
) -> None:
    spec = ArtifactSpec.model_validate({"systemd-unit": {"service": service} if service else {}})
    artifact = generate(spec, dataclasses.replace(INPUTS, repository=repository))
    assert artifact.filename == filename
    assert f"--name {filename.removesuffix('.service')} " in _line(
        artifact.content.decode(), "ExecStart"
    )


def test_a_filename_overrides_the_units_name() -> None:
    spec = ArtifactSpec.model_validate({"systemd-unit": {"filename": "acme.service"}})
    assert generate(spec, INPUTS).filename == "acme.service"


def test_the_unit_runs_the_first_component_by_digest_labelled_with_the_release() -> None:
    text = _unit()
    exec_start = _line(text, "ExecStart")
    assert exec_start.startswith(f"{DOCKER} run --rm --name web ")
    assert exec_start.endswith(f" ghcr.io/acme/web@{DIGEST}")
    assert "--label org.shipyard.release=v1.4.0 " in exec_start
    assert "--label org.shipyard.component=web " in exec_start
    assert _line(text, "Description") == "web: acme/web release v1.4.0 in production"


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("plain-word_1.0:x@y", "plain-word_1.0:x@y"),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("50%", '"50%%"'),
        ("$HOME", '"$$HOME"'),
        ("a\nb\tc", '"a\\nb\\tc"'),
        ("bell\x07", '"bell\\x07"'),
    ],
)
def test_exec_words_are_escaped_for_systemd(value: str, word: str) -> None:
    assert exec_word(value) == word


def test_a_release_name_with_specifiers_and_newlines_stays_in_its_place() -> None:
    inputs = dataclasses.replace(INPUTS, release_name="v1 %n $USER\n[Install]")
    text = _unit(inputs)
    assert text.splitlines().count("[Install]") == 1
    description = "web: acme/web release v1 %%n $USER [Install] in production"
    assert _line(text, "Description") == description
    assert '"org.shipyard.release=v1 %%n $$USER\\n[Install]"' in _line(text, "ExecStart")


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        if IN_CI:
            pytest.fail("systemd-analyze is not installed; CI must run this test")
        pytest.skip("systemd-analyze is not installed")
    return path


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify`, with a stand-in docker.service beside the unit."""
    (unit.parent / "docker.service").write_text("[Service]\nExecStart=/bin/true\n")
    return subprocess.run(
        [_systemd_analyze(), "verify", str(unit)],
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{unit.parent}:"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    inputs = dataclasses.replace(INPUTS, release_name='v1 "quoted" 100% $HOME \\ end')
    text = _unit(inputs).replace(DOCKER, "/bin/true")  # systemd checks the program exists
    (tmp_path / "web.service").write_text(text)
    done = _verify(tmp_path / "web.service")
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "broken.service").write_text(text.replace('"org.shipyard.release=', "x="))
    assert _verify(tmp_path / "broken.service").returncode != 0


def test_the_built_in_unit_needs_a_first_component_with_a_digest() -> None:
    with pytest.raises(ArtifactError, match="has no components"):
        _unit(dataclasses.replace(INPUTS, components=[]))
    without = [ComponentView("web", "ghcr.io/acme/web", None, "v1.4.0")]
    with pytest.raises(ArtifactError, match=r"component 'web' .* has no image digest"):
        _unit(dataclasses.replace(INPUTS, components=without))


def test_a_template_renders_without_a_digest_when_it_does_not_run_the_image() -> None:
    spec = ArtifactSpec.model_validate({"systemd-unit": {"template": "deploy/unit.j2"}})
    inputs = dataclasses.replace(
        INPUTS,
        components=[ComponentView("web", "ghcr.io/acme/web", None, "v1.4.0")],
        templates={"deploy/unit.j2": "ExecStart=/srv/run {{ images.web }} [{{ unit.image }}]\n"},
    )
    assert _unit(inputs, spec) == "ExecStart=/srv/run ghcr.io/acme/web:v1.4.0 []\n"


# -- nginx


def _nginx(inputs: ArtifactInputs = INPUTS, **options: object) -> str:
    spec = ArtifactSpec.model_validate({"nginx-config": options}) if options else NGINX
    return generate(spec, inputs).content.decode()


def test_the_upstream_holds_each_host_once_on_the_specs_port() -> None:
    text = _nginx(port=8080, server_name="acme.example www.acme.example")
    lines = [line.strip() for line in text.splitlines()]
    servers = [line for line in lines if line.startswith("server ") and line.endswith(";")]
    assert servers == ["server 10.0.0.1:8080;", "server [2001:db8::2]:8080;"]
    assert "    server_name acme.example www.acme.example;\n" in text
    assert "proxy_pass http://shipyard_production;" in text
    assert generate(NGINX, INPUTS).filename == "shipyard.nginx.conf"


def test_the_defaults_are_port_80_and_any_server_name() -> None:
    text = _nginx()
    assert "    server 10.0.0.1:80;\n" in text
    assert "    server_name _;\n" in text


@pytest.mark.parametrize(
    "server_name",
    ["_; include /etc/passwd", "a.example { }", "a.example#", "evil'", "trailing\\"],
)
def test_a_server_name_that_would_write_other_directives_is_refused(server_name: str) -> None:
    with pytest.raises(ArtifactError, match="cannot be written into an nginx directive"):
        _nginx(server_name=server_name)


def test_a_host_that_would_write_other_directives_is_refused() -> None:
    inputs = dataclasses.replace(INPUTS, targets=[TargetView("x", "ssh", "h; include /x", 22)])
    with pytest.raises(ArtifactError, match="target 'x''s host"):
        _nginx(inputs)


def test_targets_without_a_host_leave_the_built_in_config_nothing_to_proxy() -> None:
    inputs = dataclasses.replace(INPUTS, targets=[TargetView("hook", "webhook")])
    with pytest.raises(
        ArtifactError, match=r"no target of production has a host to proxy to \(targets: hook\)"
    ):
        _nginx(inputs)
