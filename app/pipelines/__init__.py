"""Pipelines: the `pipelines:` section of `.shipyard.yml`, which pipelines an event starts, and
running their steps on the queue, reported back as commit statuses."""
