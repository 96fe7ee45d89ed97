"""`/help`: the commands, this repository's environments and the role each command needs
there, and what this host shows."""

from __future__ import annotations

from app.access.roles import parse_role, role_name
from app.chatops.context import CommandContext, Reply
from app.chatops.names import USAGE
from app.chatops.permissions import needed_role

__all__ = ["HOST_NOTES", "run"]

HOST_NOTES = {
    "github": "GitHub shows each deployment under the pull request's Deployments, with its "
    "statuses, and the `shipyard/deploy/<env>` commit status.",
    "gitlab": "GitLab shows each deployment under the project's Environments, and the "
    "`shipyard/deploy/<env>` commit status on the merge request's pipeline.",
    "gitea": "Gitea has no deployments: the `shipyard/deploy/<env>` commit status is the "
    "deployment, with a link to its page.",
}


async def run(ctx: CommandContext) -> Reply:
    prefix = ctx.chatops.prefix
    floor = parse_role(ctx.services.settings.min_command_role)
    lines = ["**Shipyard commands**", "", "| command | role needed |", "| --- | --- |"]
    for name, usage in USAGE.items():
        role = needed_role(name, None, ctx.chatops.permissions, floor)
        lines.append(f"| `{prefix}{usage}` | {role_name(role)} |")
    lines += ["", "**Environments**", ""]
    for environment, spec in ctx.environments.items():
        roles = {
            name: role_name(needed_role(name, environment, ctx.chatops.permissions, floor))
            for name in ("deploy", "rollback", "approve", "lock")
        }
        said = ", ".join(f"{name}: {role}" for name, role in roles.items())
        extras = [f"after {spec.after}"] if spec.after else []
        if spec.approvals:
            extras.append(f"{spec.approvals} approval(s)")
        if spec.freeze:
            extras.append("freeze windows")
        more = f" ({'; '.join(extras)})" if extras else ""
        lines.append(f"- **{environment}**{more} — {said}")
    if not ctx.environments:
        lines.append("- none: declare them under `environments:` in .shipyard.yml")
    if ctx.chatops.default_environment:
        lines += ["", f"`{prefix}deploy` alone deploys to {ctx.chatops.default_environment}."]
    host = "gitea" if ctx.host == "forgejo" else ctx.host
    lines += ["", HOST_NOTES.get(host, "")]
    return Reply.told("\n".join(lines).rstrip())
