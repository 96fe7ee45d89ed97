"""Tests of `providers.gitlab`."""
