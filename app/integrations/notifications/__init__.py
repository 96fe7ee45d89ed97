"""Notification providers: Slack, Microsoft Teams, e-mail, signed webhooks, PagerDuty and
Opsgenie, each a connector that also `send`s a `steps.integrations.Notice` (`Notifier`)."""

from app.integrations.notifications.base import Notifier

__all__ = ["Notifier"]
