"""Who may read what: admins everything, others what their own host says, cached a while."""

from __future__ import annotations

import pytest

from app.auth.access import (
    ANYONE,
    Decision,
    PermissionCache,
    Resource,
    Viewer,
    decide,
    may_read,
    readable,
    resource_of_delivery,
)
from app.db.models.deliveries import Delivery
from providers.errors import Forbidden
from providers.vocabulary import Permission, Repo
from tests.support.clock import FakeClock
from tests.support.oauth import Permissions

RUN = Resource("github", "acme/web", 42)
OCTOCAT = Viewer("github", "octocat", "csrf")


@pytest.mark.parametrize(
    ("viewer", "resource", "decision"),
    [
        (ANYONE, RUN, Decision.ALLOW),
        (Viewer("gitlab", "root", "c", sees_everything=True), RUN, Decision.ALLOW),  # admin
        (OCTOCAT, RUN, Decision.ASK_HOST),
        (Viewer("gitlab", "octocat", "c"), RUN, Decision.DENY),  # another host's login
        (Viewer("gitea", "octocat", "c"), Resource("forgejo", "a/b"), Decision.ASK_HOST),
        (OCTOCAT, Resource("github", None), Decision.DENY),  # belongs to no repository
        (Viewer(), RUN, Decision.DENY),
    ],
)
def test_what_is_decided_without_asking(
    viewer: Viewer, resource: Resource, decision: Decision
) -> None:
    assert decide(viewer, resource) is decision


async def test_readers_read_others_do_not_and_the_answer_is_kept_a_while() -> None:
    clock = FakeClock()
    cache = PermissionCache(clock.time, ttl=300)
    host = Permissions({("acme/web", "octocat"): Permission.READ})
    assert await may_read(host.factory, cache, OCTOCAT, RUN)
    assert await may_read(host.factory, cache, Viewer("github", "OctoCat", "c"), RUN)
    assert host.asked == [("github", 42, "acme/web", "octocat")]  # asked once, with its client
    nobody = Viewer("github", "mallory", "c")
    assert not await may_read(host.factory, cache, nobody, RUN)
    assert not await may_read(host.factory, cache, nobody, RUN)
    assert len(host.asked) == 2  # a NONE is kept too
    clock.now += 299
    assert await may_read(host.factory, cache, OCTOCAT, RUN)
    assert len(host.asked) == 2
    clock.now += 1
    host.answers.clear()  # the user lost access: seen once the answer expires
    assert not await may_read(host.factory, cache, OCTOCAT, RUN)
    assert len(host.asked) == 3


async def test_a_host_that_cannot_answer_means_no_and_is_asked_again() -> None:
    class Refusing(Permissions):
        async def get_permission(self, repo: Repo, username: str) -> Permission:
            self.asked.append((self.provider, None, repo.full_name, username))
            raise Forbidden("GitHub", "GET", "/collaborators", 403)

    host = Refusing()
    cache = PermissionCache(FakeClock().time)
    assert not await may_read(host.factory, cache, OCTOCAT, RUN)
    assert not await may_read(host.factory, cache, OCTOCAT, RUN)
    assert len(host.asked) == 2


async def test_a_list_keeps_what_may_be_read_asking_once_per_repository() -> None:
    host = Permissions({("acme/web", "octocat"): Permission.WRITE})
    cache = PermissionCache(FakeClock().time)
    items = [RUN, Resource("github", "acme/secret"), RUN, Resource("gitlab", "acme/web")]
    shown = await readable(host.factory, cache, OCTOCAT, items, lambda item: item)
    assert shown == [RUN, RUN]
    assert sorted(repo for _, _, repo, _ in host.asked) == ["acme/secret", "acme/web"]


def test_the_cache_stays_bounded() -> None:
    clock = FakeClock()
    cache = PermissionCache(clock.time, ttl=10, max_entries=2)
    for n in range(5):
        cache.put(("github", f"r/{n}", "u"), Permission.READ)
    assert [cache.get(("github", f"r/{n}", "u")) for n in range(5)] == [
        None,
        None,
        None,
        Permission.READ,
        Permission.READ,
    ]


def test_a_deliverys_repository_is_the_one_its_event_names() -> None:
    def of(normalised: object) -> Resource:
        return resource_of_delivery(
            Delivery(
                provider="gitea", delivery_id="d", event="push", body=b"", normalised=normalised
            )
        )

    assert of({"repository": {"full_name": "a/b"}, "installation_id": 9}) == Resource(
        "gitea", "a/b", 9
    )
    assert of({"repository": {"full_name": "a/b"}}) == Resource("gitea", "a/b", None)
    assert of({"repository": None}) == Resource("gitea", None, None)
    assert of(None) == Resource("gitea", None, None)
