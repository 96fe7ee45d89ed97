"""The hosts' package events (GitHub's package / registry_package, Gitea's package) as
Packages, and whose code a CI run built (workflow runs, GitLab pipelines): hand-written
payloads in tests/samples/packages (GitHub's shaped after its webhook docs and REST
description), the host samples bent to a fork, and the real corpus where it has the event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.events import EventKind, Package, Pipeline, Repository
from providers.normalise import normalise
from tests.support.bounds import changed
from tests.support.corpus import corpus_cases, corpus_dir, event_name
from tests.support.samples import load_sample, sample_names
from tests.support.shapes import OddShapes

CORPUS = corpus_dir()  # skips this module without the corpus, fails it under CI=true
TAGGED = "sha256:1f8f2d7c3b9d6a5e4c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
UNTAGGED = "sha256:2e9f3e8d4c0e7b6f5d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"
GITHUB_REPO = Repository(
    full_name="octo-org/shipyard-demo",
    id=1296269,
    web_url="https://github.com/octo-org/shipyard-demo",
    clone_url="https://github.com/octo-org/shipyard-demo.git",
    default_branch="main",
)

# Each sample, its provider and the event it is delivered with.
SAMPLES = {
    "github-registry-package": ("github", "registry_package"),
    "github-package-untagged": ("github", "package"),
    "github-package-npm": ("github", "package"),
    "gitea-package": ("gitea", "package"),
    "gitea-workflow-run-fork": ("gitea", "workflow_run"),
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_sample("packages", name)
    return data


def sample(name: str, provider: str | None = None, **changes: Any) -> Any:
    host, event = SAMPLES[name]
    return normalise(provider or host, event, changed(load(name), **changes), delivery_id="d-1")


def test_every_sample_is_listed() -> None:
    assert sample_names("packages") == sorted(SAMPLES)


# --- GitHub ---------------------------------------------------------------------------------


def test_a_container_published_to_ghcr_is_a_package_of_its_repository() -> None:
    event = sample("github-registry-package")
    assert event.kind is EventKind.PACKAGE
    assert event.action == "published"
    assert event.repository == GITHUB_REPO
    assert event.installation_id == 4242
    assert event.package == Package(
        host="ghcr.io", image="octo-org/web", tag="v1.4.0", digest=TAGGED, action="published"
    )


def test_the_package_event_names_its_package_the_same_way() -> None:
    payload = load("github-registry-package")
    payload["package"] = payload.pop("registry_package")
    event = normalise("github", "package", payload, delivery_id="d-1")
    assert event.package == sample("github-registry-package").package


def test_an_untagged_version_has_its_digest_from_the_version() -> None:
    event = sample("github-package-untagged")
    assert event.kind is EventKind.PACKAGE
    assert event.package == Package(
        host="ghcr.io", image="octo-org/web", tag=None, digest=UNTAGGED, action="published"
    )


def test_an_update_is_a_package_too() -> None:
    event = sample("github-registry-package", action="updated")
    assert event.kind is EventKind.PACKAGE
    assert event.package is not None
    assert event.package.action == "updated"


def test_without_the_tags_digest_the_versions_is_used() -> None:
    event = sample(
        "github-registry-package",
        registry_package__package_version__container_metadata__tag__digest=None,
    )
    assert event.package is not None
    assert (event.package.tag, event.package.digest) == ("v1.4.0", TAGGED)


def test_without_an_owner_the_namespace_names_the_image() -> None:
    event = sample("github-registry-package", registry_package__owner=None)
    assert event.package is not None
    assert event.package.image == "octo-org/web"


def test_another_ecosystem_is_a_package_event_without_an_image() -> None:
    event = sample("github-package-npm")
    assert event.kind is EventKind.PACKAGE
    assert event.package is None
    assert event.repository == GITHUB_REPO


def test_a_workflow_run_of_the_repository_itself_is_not_from_a_fork() -> None:
    payload = changed(
        load_sample("github", "workflow-run"),
        workflow_run__head_repository={"full_name": "octo-org/shipyard-demo"},
    )
    event = normalise("github", "workflow_run", payload, delivery_id="d")
    assert event.pipeline == Pipeline(
        id=30433642,
        status="failure",
        url="https://github.com/octo-org/shipyard-demo/actions/runs/30433642",
        head_repository="octo-org/shipyard-demo",
        from_fork=False,
    )


def test_a_workflow_run_of_a_forks_branch_is_from_the_fork() -> None:
    payload = changed(
        load_sample("github", "workflow-run"),
        workflow_run__head_repository={"full_name": "mallory/shipyard-demo"},
        workflow_run__head_branch="main",  # named like the base's branch, still the fork's
    )
    event = normalise("github", "workflow_run", payload, delivery_id="d")
    assert event.pipeline is not None
    assert event.pipeline.head_repository == "mallory/shipyard-demo"
    assert event.pipeline.from_fork is True
    assert event.branch == "main"


def test_a_workflow_run_that_does_not_say_whose_code_leaves_it_unknown() -> None:
    event = normalise(
        "github", "workflow_run", load_sample("github", "workflow-run"), delivery_id="d"
    )
    assert event.pipeline is not None
    assert (event.pipeline.head_repository, event.pipeline.from_fork) == (None, None)


# --- Gitea / Forgejo --------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["gitea", "forgejo"])
def test_a_container_pushed_to_gitea_is_a_package(provider: str) -> None:
    event = sample("gitea-package", provider)
    assert event.kind is EventKind.PACKAGE
    assert event.provider == provider
    assert event.repository is not None
    assert event.repository.full_name == "harbour/shipyard-demo"
    assert event.package == Package(
        host="gitea.example.com", image="harbour/web", tag="v1.4.0", action="created"
    )


def test_a_gitea_push_by_digest_has_the_digest_and_no_tag() -> None:
    event = sample("gitea-package", package__version=UNTAGGED)
    assert event.package is not None
    assert (event.package.tag, event.package.digest) == (None, UNTAGGED)


def test_a_deleted_gitea_package_is_other() -> None:
    event = sample("gitea-package", action="deleted")
    assert event.kind is EventKind.OTHER
    assert event.package is not None
    assert event.package.action == "deleted"


def test_another_gitea_package_type_has_no_image() -> None:
    event = sample("gitea-package", package__type="npm")
    assert (event.kind, event.package) == (EventKind.PACKAGE, None)


@pytest.mark.parametrize("provider", ["gitea", "forgejo"])
def test_a_gitea_workflow_run_reads_like_githubs(provider: str) -> None:
    event = sample("gitea-workflow-run-fork", provider)
    assert event.kind is EventKind.PIPELINE
    assert event.action == "completed"
    assert event.sha == "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"
    assert event.branch == "feature/login"
    assert event.pipeline == Pipeline(
        id=88,
        status="success",
        url="https://gitea.example.com/harbour/shipyard-demo/actions/runs/88",
        head_repository="mira/shipyard-demo",
        from_fork=True,
    )


def test_a_gitea_workflow_run_of_the_repository_itself_is_not_from_a_fork() -> None:
    event = sample(
        "gitea-workflow-run-fork",
        workflow_run__head_repository={"full_name": "harbour/shipyard-demo"},
    )
    assert event.pipeline is not None
    assert event.pipeline.from_fork is False


# --- GitLab -------------------------------------------------------------------------------------


def _gitlab_pipeline(**changes: Any) -> Pipeline:
    payload = changed(load_sample("gitlab", "pipeline"), **changes)
    event = normalise("gitlab", "Pipeline Hook", payload, delivery_id="d")
    assert event.pipeline is not None
    return event.pipeline


def test_a_gitlab_merge_request_pipeline_from_a_fork_is_from_the_fork() -> None:
    pipeline = _gitlab_pipeline(
        merge_request={"iid": 12, "source_project_id": 99, "target_project_id": 3}
    )
    assert (pipeline.from_fork, pipeline.head_repository) == (True, None)


def test_a_gitlab_merge_request_pipeline_of_the_project_itself_is_not() -> None:
    pipeline = _gitlab_pipeline(
        merge_request={"iid": 12, "source_project_id": 3, "target_project_id": 3}
    )
    assert (pipeline.from_fork, pipeline.head_repository) == (False, "harbour/shipyard-demo")


def test_a_gitlab_merge_request_that_does_not_say_its_projects_leaves_it_unknown() -> None:
    pipeline = _gitlab_pipeline(merge_request={"iid": 12})
    assert (pipeline.from_fork, pipeline.head_repository) == (None, None)


# --- the real corpus -----------------------------------------------------------------------------

CASES = {f"{case['file']} {event_name(case)}": case for case in corpus_cases(CORPUS)}


@pytest.mark.parametrize(
    ("key", "head", "fork"),
    [
        ("github/workflow_run.json workflow_run", "baxterthehacker/public-repo", False),
        # A merge request's pipeline whose source and target project are the same (1).
        ("gitlab/pipeline-event.json Pipeline Hook", "gitlab-org/gitlab-test", False),
    ],
)
def test_the_corpus_runs_say_whose_code_they_built(key: str, head: str, fork: bool) -> None:
    case = CASES[key]
    payload = json.loads((CORPUS / case["file"]).read_bytes())
    event = normalise(case["provider"], event_name(case), payload, delivery_id="corpus")
    assert event.pipeline is not None
    assert (event.pipeline.head_repository, event.pipeline.from_fork) == (head, fork)


# --- odd shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["github", "gitea"])
def test_odd_values_give_an_event_or_a_shape_error(provider: str) -> None:
    samples = {name: event for name, (host, event) in SAMPLES.items() if host == provider}
    shapes = OddShapes(provider, samples, sorted(set(samples.values())), load)
    shapes.check_odd_value_at_any_field()
    shapes.check_random_objects()
