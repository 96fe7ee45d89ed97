"""The release a pull request's commit deploys as: the newest one that pins the commit, or one
made for it now (named by its short sha), as `shipyard releases create --commit` would — with
its components' digests looked up in their registries at once, so that the deploy asked for
has a ready release to promote (a component the registry does not have yet is left for the
release to wait for, as every release does)."""

from __future__ import annotations

from app.chatops.context import CommandContext
from app.db.models.releases import Release
from app.environments.gate import Refusal
from app.releases import store
from app.releases.manual import NotReleasable, draft_by_hand
from app.releases.model import Creator, ReleaseDraft
from app.releases.registries import image_digests
from app.releases.registry import ImageNotFound, RegistryError
from app.releases.service import create_release
from app.releases.store import Conflict
from app.services import Services

__all__ = ["release_for_commit"]


async def release_for_commit(ctx: CommandContext, commit: str, ref: str) -> Release:
    """The release of `commit` (built from branch `ref`); Refusal when none can be made."""
    services = ctx.services
    found = await store.release_of_commit(services.sessions, ctx.host, ctx.repo.full_name, commit)
    if found is not None:
        return found
    try:
        draft = await draft_by_hand(
            services,
            provider=ctx.host,
            repository=ctx.repo.full_name,
            name=commit[:12],
            creator=Creator(kind="chatops", name=ctx.requester.name),
            commit=commit,
            branch=ref,
            metadata={"pull_request": ctx.number},
        )
        return (await create_release(services, await _pinned(services, draft))).release
    except (NotReleasable, Conflict) as error:
        raise Refusal("release", f"no release could be made of {commit[:12]}: {error}") from None


async def _pinned(services: Services, draft: ReleaseDraft) -> ReleaseDraft:
    """`draft` with the digest of each component the registry has at its tag. Without this
    the release would be stored resolving, and the promotion right after would refuse it."""
    if draft.resolved:
        return draft
    digests = await image_digests(services, (draft.source.provider, draft.source.repository))
    components = []
    for component in draft.components:
        if component.digest is None:
            try:
                digest = await digests.manifest_digest(
                    component.image, component.tag or "latest", component.registry
                )
            except (ImageNotFound, RegistryError):
                digest = None  # not pushed yet, or unreadable: the release waits for it
            component = component.model_copy(update={"digest": digest})
        components.append(component)
    return draft.model_copy(update={"components": tuple(components)})
