"""`INSERT … ON CONFLICT DO NOTHING RETURNING …` for each database Shipyard runs on: the one way
its tables take a row only once (a unique index decides; a row it refuses returns nothing).

By dialect name, so a caller picks `statement[connection.dialect.name]`; each statement is
built once and compiled once (SQLAlchemy caches it), its values given as parameters."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, Executable, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_new"]


def insert_new(table: Table, *returning: ColumnElement[object]) -> Mapping[str, Executable]:
    """The statement inserting a row into `table` unless a unique index already holds it,
    returning `returning` (every column when none is named) of the rows it inserted."""
    columns = returning or tuple(table.c)
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing().returning(*columns),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing().returning(*columns),
    }
