"""`shipyard components refresh`: every repository Shipyard knows (from its component index,
its releases and its pipeline runs) is read again at its default branch, the image index is
rebuilt from what each declares, and each line says what was found or why it was not read."""

from __future__ import annotations

import asyncio
import base64

import respx
from click.testing import CliRunner, Result

from app.cli import main
from app.db.models.pipelines import PipelineRun
from app.db.models.releases import RepositoryComponent
from app.releases.images import components_of_repository, repositories_for_image
from app.settings import Settings
from tests.support.releases import add_release, database

GITHUB = "https://api.github.com/repos"
WEB_CONFIG = """
components:
  web:    {image: registry.example.com/acme/web}
  worker: {image: registry.example.com/acme/worker, tag: "{{ tag }}"}
releases:
  from: [{tag: ["v*"]}]
"""


def file_answer(text: str) -> dict[str, str]:
    return {
        "type": "file",
        "encoding": "base64",
        "content": base64.b64encode(text.encode()).decode(),
    }


def github_repository(mock: respx.MockRouter, repository: str, config: str | None) -> None:
    mock.get(f"{GITHUB}/{repository}").respond(200, json={"default_branch": "main"})
    route = mock.get(f"{GITHUB}/{repository}/contents/.shipyard.yml", params={"ref": "main"})
    if config is None:
        route.respond(404, json={"message": "Not Found"})
    else:
        route.respond(200, json=file_answer(config))


async def seed(settings: Settings) -> None:
    async with database(settings) as sessions:
        await add_release(sessions, "v1", repository="acme/web")
        async with sessions() as session:
            session.add(
                PipelineRun(provider="github", repository="acme/api", pipeline="review",
                            trigger="manual", status_context="shipyard/review")
            )  # fmt: skip
            for provider, repository, image in [
                ("github", "acme/web", "registry.example.com/acme/gone"),  # no longer declared
                ("github", "acme/old", "registry.example.com/acme/old"),
                ("gitea", "team/app", "registry.example.com/team/app"),
            ]:
                session.add(
                    RepositoryComponent(provider=provider, repository=repository,
                                        component="app", image=image, tag_template="{{ sha }}")
                )  # fmt: skip
            await session.commit()


def refresh(settings: Settings) -> Result:
    env = {"DATABASE_URL": settings.database_url, "GITHUB_TOKEN": "ghp_cli", "REDIS_URL": "",
           "GITEA_URL": "", "GITEA_TOKEN": ""}  # fmt: skip
    return CliRunner().invoke(main, ["components", "refresh"], env=env)


async def test_refresh_rebuilds_the_index_from_every_known_repository(settings: Settings) -> None:
    await seed(settings)
    with respx.mock(assert_all_called=True) as mock:
        github_repository(mock, "acme/web", WEB_CONFIG)
        github_repository(mock, "acme/api", None)
        github_repository(mock, "acme/old", "components: {web: {image: 'Not An Image'}}\n")
        result = await asyncio.to_thread(refresh, settings)
    assert result.exit_code == 1, result.output  # two repositories could not be read
    lines = result.output.splitlines()
    assert lines[0] == (
        "gitea:team/app: not read, the index keeps what it had: Gitea is not configured: "
        "set GITEA_URL and GITEA_TOKEN"
    )
    assert lines[1] == "github:acme/api: no .shipyard.yml at its default branch, so no components"
    assert lines[2].startswith("github:acme/old: not read, the index keeps what it had: its ")
    assert "image 'Not An Image' must be a repository" in lines[2]
    assert lines[3] == (
        "github:acme/web: 2 component(s): web (registry.example.com/acme/web), "
        "worker (registry.example.com/acme/worker)"
    )
    assert len(lines) == 4

    async with database(settings) as sessions:
        web = await components_of_repository(sessions, "github", "acme/web")
        assert sorted((d.component, d.image, d.tag_template) for d in web) == [
            ("web", "registry.example.com/acme/web", "{{ sha }}"),
            ("worker", "registry.example.com/acme/worker", "{{ tag }}"),
        ]
        assert await repositories_for_image(sessions, "registry.example.com/acme/gone") == []
        assert await components_of_repository(sessions, "github", "acme/api") == []
        kept = [await components_of_repository(sessions, "github", "acme/old"),
                await components_of_repository(sessions, "gitea", "team/app")]  # fmt: skip
        assert [[d.image for d in rows] for rows in kept] == [
            ["registry.example.com/acme/old"],
            ["registry.example.com/team/app"],
        ]


async def test_refresh_with_nothing_known(settings: Settings) -> None:
    result = await asyncio.to_thread(refresh, settings)
    assert result.exit_code == 0, result.output
    assert "Shipyard knows no repositories yet" in result.output
