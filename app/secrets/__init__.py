"""Secrets as one mechanism: references (parsed in `steps.secret_refs`), the sources and
resolvers that read them, and the one masker that keeps their values out of sight."""

from app.secrets.definitions import Definition, SecretGrants
from app.secrets.masker import Masker
from app.secrets.resolvers import Resolver, Secrets, SecretSource
from steps.secret_refs import SecretError, SecretRef, check_reference, parse_reference

__all__ = [
    "Definition",
    "Masker",
    "Resolver",
    "SecretError",
    "SecretGrants",
    "SecretRef",
    "SecretSource",
    "Secrets",
    "check_reference",
    "parse_reference",
]
