"""The bounds normalisation and the intake hold values to are the columns' own."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlmodel import SQLModel

import app.db.models  # noqa: F401  (the tables)
from providers.bounds import (
    ACTION_MAX,
    DELIVERY_ID_MAX,
    EVENT_NAME_MAX,
    ID_MAX,
    ID_MIN,
    NUMBER_MAX,
    REF_MAX,
    REPOSITORY_MAX,
    SHA_LENGTHS,
)


def _length(table: str, column: str) -> int:
    """A string column's length (a VARCHAR's, under SQLModel's AutoString)."""
    length = getattr(SQLModel.metadata.tables[table].c[column].type, "length", None)
    assert isinstance(length, int), f"{table}.{column} is no VARCHAR"
    return length


def test_string_bounds_are_the_column_lengths() -> None:
    assert _length("deliveries", "delivery_id") == DELIVERY_ID_MAX
    assert _length("deliveries", "event") == EVENT_NAME_MAX
    assert _length("deliveries", "action") == ACTION_MAX
    assert _length("pipeline_runs", "ref") == REF_MAX
    assert _length("pipeline_runs", "repository") == REPOSITORY_MAX
    assert _length("pipeline_runs", "sha") == max(SHA_LENGTHS)


def test_number_bounds_are_the_column_types() -> None:
    runs = SQLModel.metadata.tables["pipeline_runs"].c
    # An INTEGER (int32 on PostgreSQL) holds a pull request number; a BIGINT an id.
    assert type(runs["pr_number"].type) is Integer
    assert NUMBER_MAX == 2**31 - 1
    assert isinstance(runs["installation_id"].type, BigInteger)
    assert (ID_MIN, ID_MAX) == (-(2**63), 2**63 - 1)
