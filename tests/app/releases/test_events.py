"""Events becoming releases, end to end: signed deliveries posted to the app, the queue on a
real Redis worked by a real arq worker, `.shipyard.yml` read from the faked host, and the
`shipyard/release` status sent back in the shape each host's API documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.db.models.base import utcnow
from app.db.models.deliveries import Delivery, DeliveryStatus
from app.intake.recovery import requeue_deliveries
from app.releases import images
from app.services import Services
from tests.support.release_events import (
    FORK,
    REPOSITORY,
    TAGGED,
    branch_push,
    ci_run,
    delivered_in_turn,
    host_release,
    moved_to,
    pushed_image,
    release_settings,
    shipyard,
    stored,
    tag_push,
)
from tests.support.release_hosts import (
    AUTH,
    GITEA,
    GITLAB,
    PUBLIC_URL,
    REGISTRY,
    FakeRegistry,
    FakeRepository,
    faked,
)

HOSTS = ["github", "gitlab", "gitea"]
TAGS = 'releases:\n  from:\n    - tag: ["v*"]\n'
NEXT = "c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffe"


@pytest.fixture(autouse=True)
def fresh_index() -> Iterator[None]:
    """Each test's database is new: what this process remembers writing to another is not."""
    images.forget_known()
    yield
    images.forget_known()


def tagged(provider: str, config: str) -> dict[str, FakeRepository]:
    """The samples' repository on `provider` with `config`, its tag v1.2.0 at TAGGED."""
    return {
        REPOSITORY[provider]: FakeRepository(
            config=config, tags={"v1.2.0": TAGGED}, history=[TAGGED]
        )
    }


def status_url(provider: str, sha: str) -> str:
    """Where each host's API takes a commit status."""
    repository = REPOSITORY[provider]
    return {
        "github": f"https://api.github.com/repos/{repository}/statuses/{sha}",
        "gitlab": f"{GITLAB}/api/v4/projects/{repository.replace('/', '%2F')}/statuses/{sha}",
        "gitea": f"{GITEA}/api/v1/repos/{repository}/statuses/{sha}",
    }[provider]


def release_status(provider: str, name: str, release_id: int) -> dict[str, str]:
    """The `shipyard/release` status as each host's API documents its body: GitHub's and
    Gitea's {state, context, description, target_url}; GitLab's names the context `name`."""
    context = "name" if provider == "gitlab" else "context"
    return {
        "state": "success",
        context: "shipyard/release",
        "description": f"release {name}",
        "target_url": f"{PUBLIC_URL}/releases/{release_id}",
    }


@pytest.mark.parametrize("provider", HOSTS)
async def test_a_signed_tag_push_makes_one_release_and_sets_its_status(
    migrated: str, redis_url: str, provider: str
) -> None:
    repositories = tagged(provider, TAGS)
    host, settings = await delivered_in_turn(
        migrated, redis_url, provider, repositories, tag_push(provider)
    )

    [release], [delivery] = await stored(settings)
    assert (release.provider, release.repository) == (provider, REPOSITORY[provider])
    assert (release.name, release.version, release.tag) == ("v1.2.0", "1.2.0", "v1.2.0")
    assert (release.state, release.commit_sha, release.components) == ("ready", TAGGED, [])
    assert (release.created_by_kind, release.delivery_pk) == ("delivery", delivery.id)
    assert release.announced
    assert delivery.status == "processed"
    assert delivery.outcome is not None
    assert delivery.outcome["releases"] == {"release": release.id, "created": True, "from": "tag"}

    [status] = host.statuses
    assert (status.repository, status.sha) == (REPOSITORY[provider], TAGGED)
    assert status.body == release_status(provider, "v1.2.0", release.id or 0)
    [post] = [call for call in host.calls if call.method == "POST"]
    assert post.url == status_url(provider, TAGGED)
    assert post.headers[AUTH[provider][0]] == AUTH[provider][1]
    assert post.headers["content-type"].startswith("application/json")
    assert host.unexpected == []


@pytest.mark.parametrize("provider", HOSTS)
@pytest.mark.parametrize("release_first", [False, True], ids=["tag-first", "release-first"])
async def test_the_tag_arriving_as_a_host_release_too_makes_no_second_release(
    migrated: str, redis_url: str, provider: str, release_first: bool
) -> None:
    """GitHub's and Gitea's release payloads name no commit: Shipyard asks the host which one
    the tag points at (`commit_of`), and both deliveries plan the same release."""
    config = TAGS + "    - release: [published]\n"
    repositories = tagged(provider, config)
    deliveries = [tag_push(provider), host_release(provider)]
    if release_first:
        deliveries.reverse()
    host, settings = await delivered_in_turn(
        migrated, redis_url, provider, repositories, *deliveries
    )

    [release], [first, second] = await stored(settings)
    assert (release.name, release.commit_sha, release.state) == ("v1.2.0", TAGGED, "ready")
    assert release.delivery_pk == first.id  # whichever came first made it
    rules = ["release", "tag"] if release_first else ["tag", "release"]
    assert first.outcome is not None
    assert second.outcome is not None
    assert first.outcome["releases"] == {"release": release.id, "created": True, "from": rules[0]}
    assert second.outcome["releases"] == {
        "release": release.id,
        "created": False,
        "from": rules[1],
    }
    asked = host.asked(r"/commits/v1\.2\.0$")
    if provider == "gitlab":
        assert asked == []  # GitLab's Release Hook names the commit
    else:
        [commit_of] = asked
        assert commit_of.method == "GET"
    if provider == "github":
        assert commit_of.headers["accept"] == "application/vnd.github.sha"
    if provider == "gitea":
        assert commit_of.path.endswith("/git/commits/v1.2.0")
    assert [s.body for s in host.statuses] == [release_status(provider, "v1.2.0", release.id or 0)]
    assert host.unexpected == []


def another_webhooks_copy(provider: str) -> tuple[str, dict[str, object]]:
    """The same tag push as a second webhook delivers it, under its own delivery id: GitHub's
    App webhook beside the repository's (the payload names the installation), GitLab's
    instance-wide System Hook beside the project's. Gitea's organisation webhook sends the
    very same body: the intake takes it as the duplicate it is."""
    event, payload = tag_push(provider)
    if provider == "github":
        return event, payload | {"installation": {"id": 4242}}
    if provider == "gitlab":
        from_system = {key: value for key, value in payload.items() if key != "object_kind"}
        return "System Hook", from_system
    return event, payload


@pytest.mark.parametrize("provider", HOSTS)
async def test_a_tag_push_posted_twice_or_by_two_webhooks_makes_one_release(
    migrated: str, redis_url: str, provider: str
) -> None:
    repositories = tagged(provider, TAGS)
    copy = another_webhooks_copy(provider)
    with faked(provider, repositories) as host:
        settings = release_settings(migrated, redis_url, host.settings)
        async with shipyard(settings) as app:
            first = await app.post(provider, tag_push(provider), delivery_id="tag-v1.2.0")
            again = await app.post(provider, tag_push(provider), delivery_id="tag-v1.2.0")
            other = await app.post(provider, copy, delivery_id="tag-v1.2.0-elsewhere")
            await app.settle()

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["duplicate"] is True
    releases, deliveries = await stored(settings)
    [release] = releases
    assert release.name == "v1.2.0"
    if provider == "gitea":
        assert other.status_code == 200  # the same body: a duplicate
        assert len(deliveries) == 1
    else:
        assert other.status_code == 202
        assert [d.status for d in deliveries] == ["processed", "processed"]
        # Both on the worker at once: the unique index lets one of them make it.
        made = sorted(d.outcome["releases"]["created"] for d in deliveries if d.outcome)
        assert made == [False, True]
    assert [s.body for s in host.statuses] == [release_status(provider, "v1.2.0", release.id or 0)]


@pytest.mark.parametrize("provider", HOSTS)
async def test_a_delivery_run_again_after_its_release_was_made_makes_no_second_one(
    migrated: str, redis_url: str, provider: str
) -> None:
    """The worker died after the release was stored and before the delivery was recorded as
    processed: its lease runs out, the sweep hands it to the queue again, the releases'
    handler runs a second time and finds the release it made."""
    repositories = tagged(provider, TAGS)
    with faked(provider, repositories) as host:
        settings = release_settings(migrated, redis_url, host.settings)
        async with shipyard(settings) as app:
            await app.deliver(provider, tag_push(provider))
            [delivery] = (await stored(settings))[1]
            await died_while_releasing(app.services, delivery.id or 0)
            assert await requeue_deliveries(app.services, at_start=False) == 1
            await app.settle()

    [release], [delivery] = await stored(settings)
    assert (delivery.status, delivery.attempts) == ("processed", 2)
    assert delivery.outcome is not None
    assert delivery.outcome["releases"] == {"release": release.id, "created": False, "from": "tag"}
    assert [s.body for s in host.statuses] == [release_status(provider, "v1.2.0", release.id or 0)]


async def died_while_releasing(services: Services, delivery_pk: int) -> None:
    """The delivery as its worker left it, dying in the releases' handler an hour ago: still
    processing, the pipelines' handler recorded as finished, the releases' not."""
    async with services.sessions() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery_pk)
            .values(
                status=DeliveryStatus.PROCESSING,
                started_at=utcnow() - timedelta(hours=1),
                handled=["pipelines.start_pipelines"],
                outcome=None,
            )
        )
        await session.commit()


@pytest.mark.parametrize("provider", HOSTS)
async def test_a_second_release_lists_the_commits_since_the_first(
    migrated: str, redis_url: str, provider: str
) -> None:
    between = ["1" * 40, "2" * 40]
    repository = FakeRepository(
        config=TAGS,
        tags={"v1.2.0": TAGGED, "v1.3.0": NEXT},
        history=["0" * 39 + "9", TAGGED, *between, NEXT],
    )
    host, settings = await delivered_in_turn(
        migrated,
        redis_url,
        provider,
        {REPOSITORY[provider]: repository},
        tag_push(provider),
        tag_push(provider, "v1.3.0", NEXT),
    )

    [first, second], _ = await stored(settings)
    assert (first.name, first.previous_id, first.commits) == ("v1.2.0", None, [])
    assert (second.name, second.commit_sha) == ("v1.3.0", NEXT)
    assert (second.previous_id, second.commits, second.commits_more) == (
        first.id,
        [*between, NEXT],
        0,
    )
    asked = host.asked("/compare")[0]  # GitLab's and Gitea's also compare the other way
    if provider == "gitlab":
        assert asked.path.endswith("/repository/compare")
        assert asked.query == {"from": TAGGED, "to": NEXT}
    else:
        assert asked.path.endswith(f"/compare/{TAGGED}...{NEXT}")
    assert [(s.sha, s.body["description"]) for s in host.statuses] == [
        (TAGGED, "release v1.2.0"),
        (NEXT, "release v1.3.0"),
    ]
    assert host.unexpected == []


CI_ON_MAIN = "releases:\n  from:\n    - ci: {branches: [main]}\n"
FORKED = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"


@pytest.mark.parametrize("provider", HOSTS)
async def test_a_forks_ci_run_on_main_makes_no_release_while_the_repositorys_own_does(
    migrated: str, redis_url: str, provider: str
) -> None:
    """A fork's `main` is called `main` too: GitHub's and Gitea's `workflow_run` of a fork's
    pull request has `head_branch: main` and the fork as `head_repository`; GitLab runs a fork's
    merge request from its `main` as a pipeline of the project whose `ref` is `main`, its
    merge request naming the fork project as the source. Only the repository's own run is
    released, named by its short sha (there is no tag)."""
    repository = FakeRepository(config=CI_ON_MAIN, history=[TAGGED])
    from_fork_run = ci_run(provider, head_repository=FORK, branch="main", sha=FORKED)
    own = ci_run(provider, head_repository=REPOSITORY[provider], branch="main", sha=TAGGED)
    host, settings = await delivered_in_turn(
        migrated, redis_url, provider, {REPOSITORY[provider]: repository}, from_fork_run, own
    )

    [release], [from_fork, from_own] = await stored(settings)
    assert (release.name, release.commit_sha, release.branch) == (TAGGED[:12], TAGGED, "main")
    assert release.delivery_pk == from_own.id
    assert from_fork.status == "processed"
    assert "releases" not in (from_fork.outcome or {})
    assert [(s.sha, s.body) for s in host.statuses] == [
        (TAGGED, release_status(provider, TAGGED[:12], release.id or 0))
    ]


@pytest.mark.parametrize("provider", HOSTS)
async def test_a_forks_tag_makes_no_release(migrated: str, redis_url: str, provider: str) -> None:
    """A tag pushed to a fork is the fork's: GitHub, GitLab and Gitea deliver its push to the
    fork's webhooks, never to the repository's. What does reach the repository is the CI run of
    a fork's pull request (GitHub, Gitea) or merge request (GitLab) from a branch the fork named
    like a tag, `v1.2.0`: with a `ci:` rule for `v*` branches beside the `tag:` rule, that run
    is a fork's and makes no release; the repository's own tag v1.2.0 makes one."""
    config = TAGS + '    - ci: {branches: ["v*"]}\n'
    repositories = tagged(provider, config)
    fork_run = ci_run(provider, head_repository=FORK, branch="v1.2.0", sha=FORKED)
    own = tag_push(provider)
    host, settings = await delivered_in_turn(
        migrated, redis_url, provider, repositories, fork_run, own
    )

    [release], [from_fork, _] = await stored(settings)
    assert (release.name, release.commit_sha, release.tag) == ("v1.2.0", TAGGED, "v1.2.0")
    assert "releases" not in (from_fork.outcome or {})
    assert [s.sha for s in host.statuses] == [TAGGED]


PUSHED = "sha256:" + "ab" * 32
RESOLVED = "sha256:" + "cd" * 32
DECLARES_WEB = """\
components:
  web: {image: registry.example.com/octo-org/web}
  worker: {image: registry.example.com/octo-org/worker}
releases:
  from:
    - registry: {component: web, tags: ["v*"]}
"""
# The same image name on another registry: not the image pushed.
DECLARES_ANOTHER = """\
components:
  site: {image: ghcr.io/octo-org/web}
releases:
  from:
    - registry: {component: site}
"""


async def test_a_registry_push_makes_one_release_in_the_repository_declaring_the_image(
    migrated: str, redis_url: str
) -> None:
    """Two repositories, their configs read (a push to each keeps the image index); an image
    pushed to registry.example.com/octo-org/web makes a release only where it is declared: the
    pushed digest pinned for `web`, `worker` read from the registry at the same tag. The push
    is the registry's notification, posted to /webhooks/registry with its bearer token."""
    declaring = FakeRepository(config=DECLARES_WEB, history=[TAGGED])
    other = FakeRepository(config=DECLARES_ANOTHER, history=[TAGGED])
    registry = FakeRegistry(manifests={("octo-org/worker", "v1.2.0"): RESOLVED})
    repositories = {REPOSITORY["github"]: declaring, "octo-org/website": other}
    with faked("github", repositories, registry) as host:
        settings = release_settings(migrated, redis_url, host.settings)
        async with shipyard(settings) as app:
            await app.deliver("github", branch_push("github"))
            event_name, to_website = branch_push("github")
            await app.deliver(
                "github", (event_name, moved_to("github", to_website, "octo-org/website"))
            )
            notified = await app.notify(pushed_image(REGISTRY, "octo-org/web", "v1.2.0", PUSHED))
            assert notified.status_code == 202
            await app.settle()

    [release], [*_, from_registry] = await stored(settings)
    assert (from_registry.provider, from_registry.status) == ("registry", "processed")
    assert release.delivery_pk == from_registry.id
    assert from_registry.outcome is not None
    assert from_registry.outcome["releases"] == {
        "repositories": {
            f"github:{REPOSITORY['github']}": {
                "release": release.id,
                "created": True,
                "from": "registry",
            }
        }
    }
    assert (release.repository, release.name, release.tag) == (
        REPOSITORY["github"],
        "v1.2.0",
        "v1.2.0",
    )
    assert (release.state, release.commit_sha) == ("ready", None)
    assert release.components == [
        {
            "name": "web",
            "image": "registry.example.com/octo-org/web",
            "digest": PUSHED,
            "tag": "v1.2.0",
        },
        {
            "name": "worker",
            "image": "registry.example.com/octo-org/worker",
            "digest": RESOLVED,
            "tag": "v1.2.0",
        },
    ]
    [asked] = registry.calls  # the pushed one is pinned as pushed: only worker is read
    assert (asked.method, asked.url) == (
        "HEAD",
        f"https://{REGISTRY}/v2/octo-org/worker/manifests/v1.2.0",
    )
    assert [kind.strip() for kind in asked.headers["accept"].split(",")] == [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
    assert host.statuses == []  # a registry push names no commit to set a status on
    assert host.unexpected == []


INVALID = """\
releases:
  from:
    - tag: ["v*"]
    - registry: {component: web}
"""


@pytest.mark.parametrize("provider", HOSTS)
async def test_an_invalid_releases_section_fails_the_config_status_and_makes_no_release(
    migrated: str, redis_url: str, provider: str
) -> None:
    repositories = tagged(provider, INVALID)
    host, settings = await delivered_in_turn(
        migrated, redis_url, provider, repositories, tag_push(provider)
    )

    [], [delivery] = await stored(settings)
    assert delivery.outcome is not None
    assert delivery.outcome["releases"] == {"note": "the config is invalid (see shipyard/config)"}
    [status] = host.statuses
    state = "failed" if provider == "gitlab" else "failure"
    context = "name" if provider == "gitlab" else "context"
    assert status.sha == TAGGED
    assert status.body == {
        "state": state,
        context: "shipyard/config",
        "description": ".shipyard.yml:4: releases.from[1].registry.component: unknown "
        "component 'web' (components: none are declared under `components:`)",
        "target_url": f"{PUBLIC_URL}/deliveries/{delivery.id}",
    }
