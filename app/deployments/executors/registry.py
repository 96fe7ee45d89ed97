"""Which executor does a target type's I/O: one module per type, looked up by the type."""

from __future__ import annotations

from app.deployments.executors import api, command, ssh, webhook, workflow
from app.deployments.executors.base import Executor
from app.deployments.targets.spec import TARGET_TYPES

__all__ = ["EXECUTORS", "executor_for"]

EXECUTORS: dict[str, Executor] = {
    module.executor.type_name: module.executor for module in (ssh, webhook, api, workflow, command)
}
assert set(EXECUTORS) == set(TARGET_TYPES), "every target type has one executor"


def executor_for(type_name: str) -> Executor:
    """The executor of targets of `type_name`; LookupError naming the types there are."""
    try:
        return EXECUTORS[type_name]
    except KeyError:
        raise LookupError(
            f"no executor for target type {type_name!r}; types are {', '.join(EXECUTORS)}"
        ) from None
