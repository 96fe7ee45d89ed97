"""Tests of `providers.gitea`."""
