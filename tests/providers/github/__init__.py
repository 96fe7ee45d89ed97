"""Tests of `providers.github`."""
