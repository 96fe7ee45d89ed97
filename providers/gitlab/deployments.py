"""GitLab deployments: make sure of the environment, create one, move its status, set its URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.errors import NotFound, ValidationFailed
from providers.gitlab.translate import encode, environment_tier, project_path
from providers.gitlab.transport import GitLabTransport
from providers.vocabulary import Deployment, Repo


async def create_deployment(
    http: GitLabTransport,
    repo: Repo,
    *,
    ref: str,
    sha: str,
    environment: str,
    production: bool = False,
    environment_url: str | None = None,
) -> Deployment:
    """POST /projects/:id/deployments, `running`: the API cannot create a `created` one.

    The environment is made sure of first (`ensure_environment`): a deployment would create
    a missing one itself, but with no URL and a tier GitLab guesses.
    """
    tier = environment_tier(environment, production=production)
    await ensure_environment(http, repo, environment, tier=tier, external_url=environment_url)
    name, is_tag = await _ref_kind(http, repo, ref)
    body = {"environment": environment, "sha": sha, "ref": name, "tag": is_tag}
    answer = await http.request(
        "POST", f"{project_path(repo)}/deployments", body={**body, "status": "running"}
    )
    deployed = answer.data
    env = deployed.get("environment") or {}
    return Deployment(
        id=int(deployed["id"]),
        environment=str(env.get("name") or environment),
        sha=str(deployed.get("sha") or sha),
        ref=str(deployed.get("ref") or name),
    )


async def ensure_environment(
    http: GitLabTransport, repo: Repo, name: str, *, tier: str, external_url: str | None
) -> None:
    """The environment `name` exists, at `external_url` when one is given.

    GET /projects/:id/environments?name= (an exact match, stopped ones too); missing, it is
    created with its tier (POST {name, external_url, tier}); there at another URL, its URL
    is changed (PUT {external_url}). An existing environment's tier is left as it is: it
    may have been set by hand, or by a pipeline's `deployment_tier`.
    """
    found = await _environment_named(http, repo, name)
    if found is None:
        body = {"name": name, "tier": tier}
        if external_url is not None:
            body["external_url"] = external_url
        try:
            await http.request("POST", f"{project_path(repo)}/environments", body=body)
        except ValidationFailed as error:
            # Another deployment created it since we looked: "name has already been taken".
            if "already been taken" not in error.detail:
                raise
            found = await _environment_named(http, repo, name)
            if found is None:
                raise
        else:
            return
    if external_url is not None:
        await _set_external_url(http, repo, found, external_url)


async def _environment_named(
    http: GitLabTransport, repo: Repo, name: str
) -> Mapping[str, Any] | None:
    answer = await http.request("GET", f"{project_path(repo)}/environments", query={"name": name})
    # `name` is an exact match; compared again so that a server ignoring it finds nothing.
    matches = [env for env in answer.data or [] if env.get("name") == name]
    return matches[0] if matches else None


async def set_deployment_status(
    http: GitLabTransport,
    repo: Repo,
    deployment_id: int | str,
    status: str,
    *,
    environment_url: str | None = None,
) -> None:
    """PUT /projects/:id/deployments/:deployment_id {status}, then the environment's URL."""
    path = f"{project_path(repo)}/deployments/{encode(str(deployment_id))}"
    try:
        answer = await http.request("PUT", path, body={"status": status})
    except ValidationFailed:
        # Surprise: the state machine refuses a transition to the state it is in (`run` only
        # from created; succeed/drop/cancel from any other state) with a 400. Read the
        # deployment back: already there is success, anything else is a real refusal.
        answer = await http.request("GET", path)
        if answer.data.get("status") != status:
            raise
    if environment_url is not None:
        await _set_external_url(http, repo, answer.data.get("environment") or {}, environment_url)


async def _set_external_url(
    http: GitLabTransport, repo: Repo, env: Mapping[str, Any], url: str
) -> None:
    """PUT /projects/:id/environments/:environment_id {external_url}, when it changed.

    `env` is as GitLab gave it: listed by name, or inside a deployment's own answer.
    """
    if env.get("id") is None or env.get("external_url") == url:
        return
    path = f"{project_path(repo)}/environments/{encode(str(env['id']))}"
    await http.request("PUT", path, body={"external_url": url})


async def _ref_kind(http: GitLabTransport, repo: Repo, ref: str) -> tuple[str, bool]:
    """(ref name, is it a tag): the deployments API wants `tag` as a separate boolean.

    `refs/tags/…` and `refs/heads/…` say so; a bare name is a tag if the tags API knows it.
    """
    if ref.startswith("refs/tags/"):
        return ref.removeprefix("refs/tags/"), True
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/"), False
    try:
        await http.request("GET", f"{project_path(repo)}/repository/tags/{encode(ref)}")
    except NotFound:
        return ref, False
    return ref, True
