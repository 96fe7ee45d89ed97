"""Tests of `providers.normalise`."""
