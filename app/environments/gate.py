"""The one gate every promotion passes, whichever way it was asked for (API, CLI, auto_deploy,
a pipeline's deploy step): the decisions, pure, over facts the promotion gathered.

Each check answers None (passed) or a `Refusal` naming the gate, what is wrong, and how to
pass it. `promotion` gathers the facts (roles from the host, the environment's last job, the
targets the server has) and asks each check in turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.access.roles import role_name
from app.accounts import Permission as AccountPermission
from app.db.models.deployments import Target
from app.db.models.locks import DeploymentLock
from app.deployments.targets.store import allows, refusal
from app.environments.config import EnvironmentSpec
from app.environments.locks import describe_lock
from app.environments.requesters import Requester, RequesterKind
from providers.vocabulary import Permission

__all__ = [
    "DEPLOY_PERMISSION",
    "REGISTRY_ROLE",
    "Refusal",
    "approver_refusal",
    "freeze_refusal",
    "lock_refusal",
    "order_refusal",
    "requester_refusal",
    "targets_refusal",
]

DEPLOY_PERMISSION = AccountPermission("deployments", "create")
# A release a registry push made deploys itself (auto_deploy) as a writer would: where an
# environment asks more of its deployers, someone must promote it.
REGISTRY_ROLE = Permission.WRITE


class Refusal(Exception):
    """A promotion (or approval) the gate refuses: which gate, why, and how to pass it."""

    def __init__(self, gate: str, message: str, how: str = "") -> None:
        super().__init__(message)
        self.gate, self.message, self.how = gate, message, how

    def __str__(self) -> str:
        return f"{self.message}{f' ({self.how})' if self.how else ''}"


def requester_refusal(
    requester: Requester,
    spec: EnvironmentSpec,
    environment: str,
    provider: str,
    repository: str,
    role: Permission | None,
) -> Refusal | None:
    """May `requester` deploy to the environment? A person (and a pipeline step, as the person
    whose event started its run): their `role` on the repository, as the host says, at least
    the environment's `deployers:`. A service account: the permission deployments:create, on
    a repository of its scope. The operator: yes. A registry push: as a writer."""
    needed = Permission[spec.deployers.upper()]
    if requester.kind is RequesterKind.SERVICE_ACCOUNT:
        return _account_refusal(requester, provider, repository)
    if requester.kind is RequesterKind.OPERATOR:
        return None
    have = REGISTRY_ROLE if requester.kind is RequesterKind.REGISTRY else role
    if have is None or have < needed:
        shown = role_name(have) if have is not None else "no role"
        return Refusal(
            "deployers",
            f"{requester} may not deploy to {environment}: it needs {role_name(needed)} on "
            f"{repository}, and {requester} has {shown}",
            f"the environment's `deployers: {spec.deployers}` decides",
        )
    return None


def _account_refusal(requester: Requester, provider: str, repository: str) -> Refusal | None:
    account = requester.account
    assert account is not None
    if not account.may(DEPLOY_PERMISSION):
        return Refusal(
            "permission",
            f"the service account {account.name!r} lacks the permission {DEPLOY_PERMISSION}",
            "give it the role deployer",
        )
    if not account.may_act_on(provider, repository):
        scope = ", ".join(account.repositories) or "none"
        return Refusal(
            "repository",
            f"the service account {account.name!r} may not act on {provider}:{repository} "
            f"(its repositories: {scope})",
        )
    return None


def targets_refusal(
    spec: EnvironmentSpec,
    registered: Mapping[str, Target],
    environment: str,
    provider: str,
    repository: str,
) -> Refusal | None:
    """Every target the environment names is registered on the server and allows this
    repository to deploy to it."""
    missing = [name for name in spec.targets if name not in registered]
    if missing:
        return Refusal(
            "targets",
            f"{environment} names targets the server does not have: {', '.join(missing)}",
            "an operator adds them with `shipyard targets add`",
        )
    for name in spec.targets:
        target = registered[name]
        if not allows(target, provider, repository):
            return Refusal(
                "targets",
                refusal(target, provider, repository),
                "an operator lists the repository in the target's --repos",
            )
    switch = getattr(spec.strategy, "switch", None)
    if switch is not None and switch.target is not None:
        switch_target = registered.get(switch.target)
        if switch_target is None or not allows(switch_target, provider, repository):
            why = (
                "is not on the server"
                if switch_target is None
                else "does not allow this repository"
            )
            return Refusal("targets", f"the switch target {switch.target} {why}")
    return None


def order_refusal(
    spec: EnvironmentSpec, release_id: int, release_name: str, live_there: int | None
) -> Refusal | None:
    """`after:`: the release must be live in that environment first (the release of its
    newest completed deployment)."""
    if spec.after is None or live_there == release_id:
        return None
    return Refusal(
        "order",
        f"release {release_name} is not live in {spec.after}, which comes first",
        f"deploy it to {spec.after} first",
    )


def approver_refusal(
    approver: Requester,
    requester_name: str,
    spec: EnvironmentSpec,
    environment: str,
    role: Permission | None,
) -> Refusal | None:
    """An approval counts when a person gives it, not the one who asked for the deployment,
    with at least the environment's `deployers:` role."""
    if approver.kind is not RequesterKind.PERSON:
        return Refusal(
            "approvals",
            f"{approver} may not approve: approvals are given by people signed in with a host",
        )
    if approver.name.casefold() == requester_name.casefold():
        return Refusal(
            "approvals",
            f"{approver} asked for this deployment and may not approve it too",
            "someone else with the role approves it",
        )
    needed = Permission[spec.deployers.upper()]
    if role is None or role < needed:
        shown = role_name(role) if role is not None else "no role"
        return Refusal(
            "approvals",
            f"{approver} may not approve deployments to {environment}: it needs "
            f"{role_name(needed)}, and has {shown}",
        )
    return None


def lock_refusal(lock: DeploymentLock | None, now: datetime) -> Refusal | None:
    """Someone else holds a lock on the environment (or on all of them): not until it goes."""
    if lock is None:
        return None
    which = lock.environment or "--global"
    return Refusal(
        "lock",
        describe_lock(lock, now),
        f"{lock.holder} unlocks it with /unlock {which}; an admin may /unlock {which} --force",
    )


def freeze_refusal(
    frozen: str | None, environment: str, *, force: bool, admin: bool
) -> Refusal | None:
    """The environment is frozen (`frozen` says by what: a window, an issue): only an admin's
    `--force` passes it (and the job records that)."""
    if frozen is None or (force and admin):
        return None
    if force:
        return Refusal(
            "freeze",
            f"{environment} is frozen ({frozen}) and --force needs an admin",
            "an admin of the repository on its host, or one in SHIPYARD_ADMINS",
        )
    return Refusal(
        "freeze",
        f"{environment} is frozen: {frozen}",
        "wait for the freeze to end, or an admin deploys with --force",
    )
