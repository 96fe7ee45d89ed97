"""`shipyard releases list|show|create`: the releases Shipyard made, and making one by hand."""

from __future__ import annotations

import asyncio
import getpass
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from app.cli.support import echo, load_settings, with_database
from app.db.engine import SessionFactory
from app.db.models.base import as_utc
from app.db.models.releases import Release
from app.settings import Settings

if TYPE_CHECKING:
    from app.services import Services

__all__ = ["releases_group"]

PROVIDERS = click.Choice(["github", "gitlab", "gitea", "forgejo"])


@click.group("releases")
def releases_group() -> None:
    """Releases: named, immutable sets of component digests and their source."""


def _fields(release: Release) -> dict[str, Any]:
    return {
        "id": release.id,
        "name": release.name,
        "version": release.version,
        "state": release.state,
        "error": release.error,
        "provider": release.provider,
        "repository": release.repository,
        "commit": release.commit_sha,
        "tag": release.tag,
        "branch": release.branch,
        "source_url": release.source_url,
        "components": release.components,
        "metadata": release.build,
        "created_by": {"kind": release.created_by_kind, "name": release.created_by},
        "delivery_pk": release.delivery_pk,
        "created_at": as_utc(release.created_at).isoformat(timespec="seconds"),
        "previous_id": release.previous_id,
        "commits": release.commits,
        "commits_more": release.commits_more,
    }


@releases_group.command("list")
@click.option("--repo", "repository", default=None, help="Only this repository's (owner/name).")
@click.option("--provider", default=None, type=PROVIDERS, help="Only this host's.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_releases(repository: str | None, provider: str | None, limit: int, as_json: bool) -> None:
    """Releases, newest first."""
    from app.releases import store

    rows = with_database(
        load_settings(),
        lambda sessions: store.list_releases(
            sessions, provider=provider, repository=repository, limit=limit
        ),
    )
    if not rows and not as_json:
        where = f" of {repository}" if repository else ""
        click.echo(f"no releases{where} yet")
    for release in rows:
        if as_json:
            click.echo(json.dumps(_fields(release)))
            continue
        commit = (release.commit_sha or "")[:12] or "-"
        echo(
            f"{release.id:>6}  {release.state:<9} {release.name:<24} "
            f"{release.provider}:{release.repository}  {commit}  "
            f"{len(release.components)} component(s)  {release.created_at:%Y-%m-%d %H:%M}"
        )


async def _named(
    sessions: SessionFactory, given: str, repository: str | None, provider: str | None
) -> list[Release]:
    """The releases `given` names: an id, or a name (in `repository`, or in any)."""
    from sqlmodel import col, select

    from app.releases import store

    query = select(Release).where(Release.name == given).order_by(col(Release.id).desc())
    if repository is not None:
        query = query.where(Release.repository == repository)
    if provider is not None:
        query = query.where(Release.provider == provider)
    async with sessions() as session:
        found = list((await session.exec(query.limit(10))).all())
    if not found and given.isdigit() and len(given) < 12:
        release = await store.get_release(sessions, int(given))
        if release is not None and repository in (None, release.repository):
            found = [release]
    return found


@releases_group.command("show")
@click.argument("release")
@click.option("--repo", "repository", default=None, help="The repository a name is in.")
@click.option("--provider", default=None, type=PROVIDERS)
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
def show_release(release: str, repository: str | None, provider: str | None, as_json: bool) -> None:
    """One release, by its id or its name, with its components and commits."""
    settings = load_settings()
    found = with_database(
        settings, lambda sessions: _named(sessions, release, repository, provider)
    )
    if not found:
        where = f" in {repository}" if repository else ""
        raise click.ClickException(f"there is no release {release!r}{where}")
    if len(found) > 1:
        places = ", ".join(f"{r.provider}:{r.repository}" for r in found)
        raise click.ClickException(
            f"{len(found)} repositories have a release {release!r} ({places}): give --repo"
        )
    [row] = found
    if as_json:
        click.echo(json.dumps(_fields(row)))
        return
    for line in _describe(settings, row):
        echo(line)


def _describe(settings: Settings, release: Release) -> list[str]:
    from app.releases.service import release_url

    lines = [
        f"release {release.id}: {release.name} (version {release.version}) — {release.state}",
        f"  repository    {release.provider}:{release.repository}",
    ]
    if release.error:
        lines.append(f"  error         {release.error}")
    source = [
        part
        for part in (
            release.commit_sha and f"commit {release.commit_sha}",
            release.tag and f"tag {release.tag}",
            release.branch and f"branch {release.branch}",
        )
        if part
    ]
    lines.append(f"  source        {', '.join(source) or '-'}")
    created = f"{release.created_at:%Y-%m-%d %H:%M:%S}"
    lines.append(f"  created       {created} by {release.created_by_kind} {release.created_by}")
    for key, value in (release.build or {}).items():
        lines.append(f"  {key:<13} {value if isinstance(value, str) else json.dumps(value)}")
    lines.append(f"  page          {release_url(settings.public_url, release.id or 0)}")
    lines.append("components" if release.components else "components: none (pins its commit)")
    for component in release.components:
        at = f":{component['tag']}" if component.get("tag") else ""
        digest = component.get("digest") or "(not resolved yet)"
        lines.append(f"  {component['name']:<12} {component['image']}{at}  {digest}")
    if release.commits:
        more = f" (and {release.commits_more} more)" if release.commits_more else ""
        since = f" #{release.previous_id}" if release.previous_id else ""
        lines.append(f"commits since the previous release{since}{more}")
        lines.extend(f"  {sha}" for sha in release.commits)
    return lines


@releases_group.command("create")
@click.option("--repo", "repository", required=True, help="owner/name (GitLab: group/project).")
@click.option("--name", required=True, help="The release's name, unique in the repository.")
@click.option(
    "--component",
    "components",
    multiple=True,
    metavar="NAME=DIGEST",
    help="A component of the repository's config and the digest it pins (sha256:…); repeat "
    "for more. The others are found by their tag for --commit.",
)
@click.option("--commit", default=None, help="The commit the release is of (its sha).")
@click.option("--tag", default=None, help="The tag it is of.")
@click.option("--branch", default=None, help="The branch the commit is on.")
@click.option("--provider", default="github", show_default=True, type=PROVIDERS)
def create_release(
    repository: str,
    name: str,
    components: tuple[str, ...],
    commit: str | None,
    tag: str | None,
    branch: str | None,
    provider: str,
) -> None:
    """Create release NAME of a repository by hand.

    Creating the same name again with the same content answers with the existing release;
    with other content it is refused, saying what differs. Without REDIS_URL its digests are
    resolved and it is announced on the host here, before the command returns."""
    from app.db.schema import DatabaseNotMigrated
    from app.releases.manual import NotReleasable, parse_component
    from app.releases.store import Conflict

    settings = load_settings()
    try:
        digests = dict(parse_component(value) for value in components)
        if len(digests) < len(components):
            raise NotReleasable("a component is named twice")
        asked = _Asked(provider, repository, name, commit, tag, branch, digests)
        release, created, nearest = asyncio.run(_create(settings, asked))
    except (NotReleasable, Conflict, DatabaseNotMigrated) as error:
        raise click.ClickException(str(error)) from error
    for line in _describe(settings, release):
        echo(line)
    for component, tags in nearest.items():
        echo(f"  {component}: its tag is not in the registry yet; the nearest it has: {tags}")
    if not created:
        echo(f"release {release.name!r} already existed with this content: nothing was changed")
    if release.state == "failed":
        raise SystemExit(1)


@dataclass(frozen=True)
class _Asked:
    provider: str
    repository: str
    name: str
    commit: str | None
    tag: str | None
    branch: str | None
    digests: dict[str, str]


async def _create(settings: Settings, asked: _Asked) -> tuple[Release, bool, dict[str, str]]:
    from app.releases import store
    from app.releases.manual import draft_by_hand
    from app.releases.model import Creator
    from app.releases.service import create_release as create
    from app.wiring import open_services
    from jobqueue.inprocess import InProcessQueue

    user = getpass.getuser()
    async with open_services(settings) as services:
        draft = await draft_by_hand(
            services,
            provider=asked.provider,
            repository=asked.repository,
            name=asked.name,
            creator=Creator(kind="cli", name=user),
            commit=asked.commit,
            tag=asked.tag,
            branch=asked.branch,
            digests=asked.digests,
            metadata={"triggered_by": f"{user} (shipyard releases create)"},
        )
        stored = await create(services, draft)
        if stored.created and isinstance(services.queue, InProcessQueue):
            await services.queue.join()
        release = await store.get_release(services.sessions, stored.release.id or 0)
        assert release is not None
        nearest = {}
        if release.state == "resolving":
            nearest = await _nearest_tags(services, release)
        return release, stored.created, nearest


async def _nearest_tags(services: Services, release: Release) -> dict[str, str]:
    """For each component still waiting for its image, the tags nearest its own that the
    registry has (where it can list them): a mistyped tag shows at once."""
    from app.releases.registries import tag_suggestions

    found = {}
    for component in release.components:
        tag = component.get("tag") or "latest"
        if component.get("digest"):
            continue
        tags = await tag_suggestions(
            services,
            component["image"],
            tag,
            component.get("registry"),
            for_repository=(release.provider, release.repository),
        )
        if tags and tag not in tags:
            found[str(component["name"])] = ", ".join(tags)
    return found
