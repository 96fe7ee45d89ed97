"""`shipyard releases create|list|show`: a release made by hand, against a GitHub faked at its
HTTP boundary (the config read at the default branch, the `shipyard/release` status, the
comparison with the previous release) and a registry faked the same way."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from click.testing import CliRunner, Result

from app.cli import main
from tests.support.releases import digest_of, sha_of

API = "https://api.github.com/repos/acme/web"
CONFIG = """
components:
  web:    {image: registry.example.com/acme/web}
  worker: {image: registry.example.com/acme/worker, tag: "worker-{{ short_sha }}"}
releases:
  from: [{tag: ["v*"]}]
"""
PLAIN = 'releases: {from: [{tag: ["v*"]}]}\n'  # no components: a release pins its commit
OLD, NEW = sha_of("old"), sha_of("new")
WEB, WORKER = digest_of("web"), digest_of("worker")


@dataclass
class Shipyard:
    runner: CliRunner
    env: dict[str, str]

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(main, list(args), env=self.env)

    def show(self, release: str, *args: str) -> dict[str, Any]:
        shown = self("releases", "show", release, "--json", *args)
        assert shown.exit_code == 0, shown.output
        found: dict[str, Any] = json.loads(shown.output)
        return found


@pytest.fixture
def shipyard(migrated: str) -> Shipyard:
    env = {
        "DATABASE_URL": migrated,
        "GITHUB_TOKEN": "ghp_cli",
        "SHIPYARD_PUBLIC_URL": "http://shipyard.test",
        "REDIS_URL": "",
        "LOGNAME": "alice",
    }
    return Shipyard(CliRunner(), env)


def _github(configs: dict[str, str]) -> Iterator[respx.MockRouter]:
    """GitHub with each repository's config; every status posted is answered 201 and recorded
    (acme/web's routes are named `config` and `status`)."""
    with respx.mock(assert_all_called=False) as mock:
        for repo, text in configs.items():
            api = f"https://api.github.com/repos/{repo}"
            named = "" if repo == "acme/web" else f" {repo}"
            mock.get(api).respond(200, json={"default_branch": "main"})
            content = base64.b64encode(text.encode()).decode()
            mock.get(
                f"{api}/contents/.shipyard.yml", params={"ref": "main"}, name=f"config{named}"
            ).respond(200, json={"type": "file", "encoding": "base64", "content": content})
            mock.post(url__regex=rf"{api}/statuses/[0-9a-f]{{40}}", name=f"status{named}").respond(
                201, json={}
            )
        yield mock


@pytest.fixture
def github() -> Iterator[respx.MockRouter]:
    """acme/web declares components."""
    yield from _github({"acme/web": CONFIG})


@pytest.fixture
def plain_github() -> Iterator[respx.MockRouter]:
    """acme/web and acme/api declare no components."""
    yield from _github({"acme/web": PLAIN, "acme/api": PLAIN})


def posted_statuses(mock: respx.MockRouter) -> list[tuple[str, dict[str, Any]]]:
    return [
        (call.request.url.path.rsplit("/", 1)[-1], json.loads(call.request.content))
        for call in mock.routes["status"].calls
    ]


def test_a_release_of_a_commit_then_the_same_again_then_a_conflict(
    shipyard: Shipyard, plain_github: respx.MockRouter
) -> None:
    github = plain_github
    created = shipyard("releases", "create", "--repo", "acme/web", "--name", "v1.0.0",
                       "--commit", OLD, "--tag", "v1.0.0")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "release 1: v1.0.0 (version 1.0.0) — ready" in created.output
    assert "http://shipyard.test/releases/1" in created.output
    assert "components: none (pins its commit)" in created.output
    assert github.routes["config"].called  # it declares no components: none to resolve
    assert posted_statuses(github) == [
        (
            OLD,
            {
                "state": "success",
                "context": "shipyard/release",
                "description": "release v1.0.0",
                "target_url": "http://shipyard.test/releases/1",
            },
        )
    ]
    release = shipyard.show("v1.0.0")
    assert release["created_by"] == {"kind": "cli", "name": "alice"}
    assert release["source_url"] == "https://github.com/acme/web/tree/v1.0.0"
    assert release["metadata"]["triggered_by"] == "alice (shipyard releases create)"

    again = shipyard("releases", "create", "--repo", "acme/web", "--name", "v1.0.0",
                     "--commit", OLD.upper(), "--tag", "v1.0.0")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "already existed with this content" in again.output
    assert len(github.routes["status"].calls) == 1

    other = shipyard("releases", "create", "--repo", "acme/web", "--name", "v1.0.0",
                     "--commit", NEW)  # fmt: skip
    assert other.exit_code == 1
    assert "release 'v1.0.0' already exists with other content" in other.output
    assert f"commit is {OLD}, not {NEW}" in other.output
    assert "Traceback" not in other.output
    listed = shipyard("releases", "list", "--json").output.splitlines()
    assert [json.loads(line)["id"] for line in listed] == [1]


def test_named_components_pin_their_digests_and_the_rest_are_found_by_their_tag(
    shipyard: Shipyard, github: respx.MockRouter
) -> None:
    for image, tag, digest in [
        ("web", OLD, digest_of("old web")),
        ("worker", f"worker-{OLD[:12]}", digest_of("old worker")),
    ]:
        github.head(f"https://registry.example.com/v2/acme/{image}/manifests/{tag}").respond(
            200, headers={"Docker-Content-Digest": digest}
        )  # fmt: skip
    first = shipyard("releases", "create", "--repo", "acme/web", "--name", "first",
                     "--commit", OLD)  # every component found by its tag for OLD  # fmt: skip
    assert first.exit_code == 0, first.output
    between = [sha_of("a"), sha_of("b"), NEW]
    compare = github.get(f"{API}/compare/{OLD}...{NEW}").respond(
        200, json={"ahead_by": 3, "commits": [{"sha": sha} for sha in between]}
    )
    registry = github.head(
        f"https://registry.example.com/v2/acme/worker/manifests/worker-{NEW[:12]}"
    ).respond(200, headers={"Docker-Content-Digest": WORKER})

    made = shipyard("releases", "create", "--repo", "acme/web", "--name", "second",
                    "--commit", NEW, "--component", f"web={WEB}")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert github.routes["config"].called
    assert registry.called
    assert compare.called
    release = shipyard.show("second", "--repo", "acme/web")
    assert release["state"] == "ready"
    assert [(c["name"], c["image"], c["digest"]) for c in release["components"]] == [
        ("web", "registry.example.com/acme/web", WEB),
        ("worker", "registry.example.com/acme/worker", WORKER),
    ]
    assert (release["previous_id"], release["commits"]) == (1, between)
    assert f"web          registry.example.com/acme/web  {WEB}" in made.output
    assert "commits since the previous release #1" in made.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--component", f"api={WEB}"),
         "component 'api' is not declared in acme/web's .shipyard.yml at its default branch "
         "(its components: web, worker)"),
        (("--component", "web=latest"), "the digest must be sha256:"),
        (("--component", "web"), "give it as NAME=sha256:"),
        (("--component", f"web={WEB}", "--component", f"web={WORKER}"), "named twice"),
        (("--commit", "main"), "give the commit's sha"),
        ((), "a release needs --commit, --tag or a --component"),
        (("--component", f"worker={WORKER}"),
         "components.web.tag rendered empty"),  # no commit to find the web image's tag by
    ],
)  # fmt: skip
def test_what_a_person_gets_wrong_is_said_without_a_traceback(
    shipyard: Shipyard, github: respx.MockRouter, args: tuple[str, ...], says: str
) -> None:
    result = shipyard("releases", "create", "--repo", "acme/web", "--name", "bad", *args)
    assert result.exit_code == 1, result.output
    assert says in result.output
    assert "Traceback" not in result.output
    assert shipyard("releases", "list").output == "no releases yet\n"


def test_a_component_of_a_repository_without_a_config(shipyard: Shipyard) -> None:
    with respx.mock() as mock:
        mock.get(API).respond(200, json={"default_branch": "main"})
        mock.get(f"{API}/contents/.shipyard.yml", params={"ref": "main"}).respond(
            404, json={"message": "Not Found"}
        )
        result = shipyard("releases", "create", "--repo", "acme/web", "--name", "x",
                          "--commit", OLD, "--component", f"web={WEB}")  # fmt: skip
    assert result.exit_code == 1
    assert "its components: none" in result.output


def test_an_unreachable_host_is_an_error_not_a_traceback(shipyard: Shipyard) -> None:
    with respx.mock() as mock:
        mock.get(API).mock(side_effect=httpx.ConnectError("refused"))
        result = shipyard("releases", "create", "--repo", "acme/web", "--name", "x",
                          "--commit", OLD, "--component", f"web={WEB}")  # fmt: skip
    assert result.exit_code == 1
    assert "acme/web's .shipyard.yml could not be read" in result.output
    assert "Traceback" not in result.output


def test_list_and_show_by_id_and_by_name(
    shipyard: Shipyard, plain_github: respx.MockRouter
) -> None:
    for repo, name in [("acme/web", "v1"), ("acme/api", "v1"), ("acme/web", "v2\x1b[2J")]:
        made = shipyard("releases", "create", "--repo", repo, "--name", name, "--commit", OLD)
        assert made.exit_code == 0, made.output

    listed = shipyard("releases", "list")
    assert [line.split()[:3] for line in listed.output.splitlines()] == [
        ["3", "ready", "v2\\x1b[2J"],
        ["2", "ready", "v1"],
        ["1", "ready", "v1"],
    ]
    assert "\x1b" not in listed.output
    only = shipyard("releases", "list", "--repo", "acme/api", "--json")
    assert [json.loads(line)["id"] for line in only.output.splitlines()] == [2]
    assert shipyard("releases", "list", "--repo", "acme/none").output == (
        "no releases of acme/none yet\n"
    )

    assert shipyard.show("2")["repository"] == "acme/api"
    assert shipyard.show("v1", "--repo", "acme/web")["id"] == 1
    shown = shipyard("releases", "show", "3")
    assert "release 3: v2\\x1b[2J (version" in shown.output
    assert "\x1b" not in shown.output
    both = shipyard("releases", "show", "v1")
    assert both.exit_code == 1
    assert "2 repositories have a release 'v1'" in both.output
    assert "give --repo" in both.output
    missing = shipyard("releases", "show", "v9", "--repo", "acme/web")
    assert missing.exit_code == 1
    assert "there is no release 'v9' in acme/web" in missing.output
    other_repo = shipyard("releases", "show", "2", "--repo", "acme/web")
    assert other_repo.exit_code == 1
