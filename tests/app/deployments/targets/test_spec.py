"""What the CLI and the API add to the target spec (pure): which type takes a connection field,
problems named as the caller writes them, merge patches, and headers that carry a credential."""

from __future__ import annotations

from typing import Any

import pytest

from app.deployments.targets.spec import (
    InvalidTarget,
    TargetSpec,
    check_fields,
    merge_patch,
    parse_connection,
    patch_spec,
    types_taking,
)

FINGERPRINT = "SHA256:" + "a" * 43
KNOWN_HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def ssh_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "web-1",
        "connection": {
            "type": "ssh",
            "host": "web-1.example.com",
            "user": "deploy",
            "known_host": KNOWN_HOST,
        },
        "credential": "file:///etc/shipyard/deploy_key",
        "labels": {"region": "eu"},
        "repositories": ["acme/web"],
    }
    return data | changes


@pytest.mark.parametrize(
    ("field", "types"),
    [
        ("url", ("webhook", "api")),
        ("headers", ("webhook", "api")),
        ("body", ("api",)),
        ("known_host", ("ssh",)),
        ("repository", ("workflow",)),
        ("command", ("command",)),
        ("type", ()),
        ("colour", ()),
    ],
)
def test_which_types_take_a_field(field: str, types: tuple[str, ...]) -> None:
    assert types_taking(field) == types


def test_a_field_of_another_type_is_named_with_the_types_that_take_it() -> None:
    def spell(field: str) -> str:
        return "--" + field.replace("_", "-")

    with pytest.raises(InvalidTarget) as raised:
        check_fields("ssh", ["host", "url", "body", "workflow"], spell)
    assert str(raised.value) == (
        "--url is not for ssh targets: it is for webhook and api targets; "
        "--body is not for ssh targets: it is for api targets; "
        "--workflow is not for ssh targets: it is for workflow targets"
    )
    with pytest.raises(InvalidTarget, match="--colour is not a connection setting of any"):
        check_fields("command", ["colour"], spell)
    with pytest.raises(InvalidTarget, match="unknown target type 'ftp'"):
        check_fields("ftp", [])
    check_fields("api", ["url", "body", "headers", "status_url", "timeout", "method"])


def test_problems_are_named_as_the_caller_spells_them() -> None:
    data = ssh_data(connection={"type": "ssh", "host": "h", "user": "u"}, repositories=[])
    with pytest.raises(InvalidTarget) as plain:
        TargetSpec.parse(data)
    assert "connection: give exactly one of known_host" in str(plain.value)
    assert "repositories: the repositories allowed to deploy to it are required" in str(plain.value)
    with pytest.raises(InvalidTarget) as spelled:
        TargetSpec.parse(data, lambda where: f"<{where}>")
    assert "<connection>: give exactly one of known_host" in str(spelled.value)
    assert "<repositories>: the repositories" in str(spelled.value)


def test_a_field_named_like_a_type_is_named() -> None:
    with pytest.raises(InvalidTarget, match=r"^workflow: Field required$"):
        parse_connection({"type": "workflow"})
    with pytest.raises(InvalidTarget, match=r"^connection\.command: Field required$"):
        TargetSpec.parse(ssh_data(connection={"type": "command"}))
    with pytest.raises(InvalidTarget, match=r"^host: Field required$"):
        parse_connection({"type": "ssh", "user": "u", "known_host": KNOWN_HOST})


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key", "X-Auth-Token", "Cookie"])
def test_a_header_that_carries_a_credential_is_a_reference(header: str) -> None:
    value = "Bearer literal-credential-value"
    connection = {"type": "webhook", "url": "https://deploy.example.com/hook"}
    data = ssh_data(connection=connection | {"headers": {header: value}})
    with pytest.raises(InvalidTarget) as raised:
        TargetSpec.parse(data)
    assert f"header {header} carries a credential: give it as a reference" in str(raised.value)
    assert value not in str(raised.value)
    referenced = ssh_data(connection=connection | {"headers": {header: "env://DEPLOY_AUTH"}})
    assert TargetSpec.parse(referenced).connection.headers == {  # type: ignore[union-attr]
        header: "env://DEPLOY_AUTH"
    }


def test_a_plain_header_may_be_a_value() -> None:
    connection = {
        "type": "webhook",
        "url": "https://deploy.example.com/hook",
        "headers": {"Content-Language": "en", "X-Team": "web"},
    }
    spec = TargetSpec.parse(ssh_data(connection=connection))
    assert spec.connection.headers == {"Content-Language": "en", "X-Team": "web"}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("current", "patch", "merged"),
    [
        ({"a": 1, "b": 2}, {"a": 3}, {"a": 3, "b": 2}),
        ({"a": 1, "b": 2}, {"b": None}, {"a": 1}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": None, "z": 3}}, {"a": {"x": 1, "z": 3}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}),
        ({}, {"gone": None}, {}),
    ],
)
def test_a_merge_patch(current: dict[str, Any], patch: dict[str, Any], merged: Any) -> None:
    assert merge_patch(current, patch) == merged


def test_a_patch_changes_what_it_names_and_keeps_the_rest() -> None:
    spec = TargetSpec.parse(ssh_data())
    changed = patch_spec(
        spec,
        {
            "connection": {"port": 2222, "known_host": None, "host_key_fingerprint": FINGERPRINT},
            "labels": {"region": None, "tier": "web"},
            "idempotent": True,
        },
    )
    assert changed.name == "web-1"
    assert changed.connection.port == 2222  # type: ignore[union-attr]
    assert changed.connection.host == "web-1.example.com"  # type: ignore[union-attr]
    assert changed.connection.known_host is None  # type: ignore[union-attr]
    assert changed.labels == {"tier": "web"}
    assert changed.repositories == ("acme/web",)
    assert changed.credential == spec.credential
    assert changed.idempotent is True


def test_a_patch_of_the_type_replaces_the_connection() -> None:
    spec = TargetSpec.parse(ssh_data())
    changed = patch_spec(
        spec, {"connection": {"type": "command", "command": "./deploy.sh"}, "credential": None}
    )
    assert changed.connection.model_dump() == {"type": "command", "command": "./deploy.sh"}
    assert changed.credential is None
    with pytest.raises(InvalidTarget, match="url: Field required"):
        patch_spec(spec, {"connection": {"type": "webhook"}})


@pytest.mark.parametrize(
    ("patch", "says"),
    [
        ({"credential": None}, "ssh targets need a credential"),
        ({"repositories": None}, "repositories: Field required"),
        ({"connection": {"host": "no spaces allowed"}}, "connection.host"),
        ({"name": "web-2"}, "a target keeps its name"),
    ],
)
def test_a_patch_that_leaves_an_invalid_target_is_refused(patch: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidTarget, match=says):
        patch_spec(TargetSpec.parse(ssh_data()), patch)


def test_data_round_trips() -> None:
    spec = TargetSpec.parse(ssh_data())
    data = spec.data()
    assert "host_key_fingerprint" not in data["connection"]
    assert TargetSpec.parse(data) == spec
