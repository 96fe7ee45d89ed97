"""Metrics integrations: what a metrics connector answers (instant queries, as samples), and
the providers that answer it (`prometheus`)."""

from app.integrations.metrics.source import MetricsSource, Sample

__all__ = ["MetricsSource", "Sample"]
