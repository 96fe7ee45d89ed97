"""Helpers the tests share: fakes, samples, corpus access and per-host request checks."""
