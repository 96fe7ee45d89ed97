"""The step types by `type:` name. Adding a step type is one module and one line here."""

from __future__ import annotations

from steps import (
    ai_review,
    checkout,
    create_pr,
    deploy,
    notify,
    post_comment,
    run_command,
    trigger_ci,
    update_status,
    upload_artifact,
    wait_ci,
)
from steps.base import StepType

STEP_TYPES: dict[str, StepType] = {
    module.step.type_name: module.step
    for module in (
        checkout,
        run_command,
        update_status,
        post_comment,
        create_pr,
        trigger_ci,
        wait_ci,
        deploy,
        notify,
        upload_artifact,
        ai_review,
    )
}
