"""GitLab deployments: create one, move its status, point its environment at a URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.errors import NotFound, ValidationFailed
from providers.gitlab.translate import encode, project_path
from providers.gitlab.transport import GitLabTransport
from providers.vocabulary import Deployment, Repo


async def create_deployment(
    http: GitLabTransport, repo: Repo, *, ref: str, sha: str, environment: str
) -> Deployment:
    """POST /projects/:id/deployments, `running`: the API cannot create a `created` one."""
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

    The environment's id comes with the deployment's own answer: no lookup by name.
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
