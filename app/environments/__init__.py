"""Environments: the `environments:` section, promotion of a release into one, and the one
gate every promotion passes (who asks, the order of environments, approvals, one deployment
per environment at a time)."""
