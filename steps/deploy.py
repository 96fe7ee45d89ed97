"""`deploy`: promote a release into an environment, through the same gate as every promotion,
and (with `wait`) follow the deployment to its end. The promotion is recorded at once, so a
retried attempt follows that deployment instead of asking for another."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from pydantic import Field

from steps.base import Deployment, StepConfig, StepContext, StepFailed
from steps.ci import Clock, real_clock
from steps.config_types import Duration

__all__ = ["DeployConfig", "step"]

Sleep = Callable[[float], Awaitable[None]]


class DeployConfig(StepConfig):
    """`release` is a release's name (default: the newest ready release of the run's commit);
    `params` reach the executors as SHIPYARD_PARAM_<NAME>."""

    environment: str = Field(min_length=1, max_length=100)
    release: str | None = Field(None, min_length=1, max_length=200)
    params: dict[str, str] = Field(default_factory=dict)
    wait: bool = True
    timeout: Duration = 3600.0
    poll_interval: Duration = 5.0


def _outputs(deployment: Deployment) -> dict[str, Any]:
    return {
        "deployment_id": deployment.id,
        "state": deployment.state,
        "url": deployment.url,
        "release": deployment.release,
    }


class Deploy:
    type_name: ClassVar[str] = "deploy"
    Config: ClassVar[type[StepConfig]] = DeployConfig

    def __init__(self, *, sleep: Sleep = asyncio.sleep, clock: Clock = real_clock) -> None:
        self._sleep, self._clock = sleep, clock

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        if not isinstance(config, DeployConfig):
            raise TypeError(f"deploy needs a DeployConfig, not {type(config).__name__}")
        if ctx.deployments is None:
            raise StepFailed("deployments are not offered to this run's steps")
        recorded = ctx.recorded.get("deployment_id")
        if isinstance(recorded, int):
            ctx.log(f"deployment {recorded} was asked for by an earlier attempt; following it")
            deployment = await ctx.deployments.read(recorded)
        else:
            deployment = await ctx.deployments.promote(
                config.environment, config.release, config.params
            )
            await ctx.record("deployment_id", deployment.id)
            await ctx.record("deadline", self._clock() + config.timeout)
            ctx.log(f"deployment {deployment.id} of {deployment.release}: {deployment.url}")
        if not config.wait:
            return _outputs(deployment)
        deadline = float(ctx.recorded.get("deadline") or self._clock() + config.timeout)
        seen = deployment.state
        while not deployment.ended:
            if self._clock() >= deadline:
                raise StepFailed(
                    f"deployment {deployment.id} did not end before the timeout (still "
                    f"{deployment.state}): {deployment.url}"
                )
            await self._sleep(config.poll_interval)
            deployment = await ctx.deployments.read(deployment.id)
            if deployment.state != seen:
                seen = deployment.state
                ctx.log(f"deployment {deployment.id} is {deployment.state}")
        if not deployment.succeeded:
            why = f": {deployment.error}" if deployment.error else ""
            raise StepFailed(
                f"deployment {deployment.id} {deployment.state}{why} ({deployment.url})"
            )
        return _outputs(deployment)


step = Deploy()
