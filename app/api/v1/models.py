"""What every request and answer of the API is built from: camelCase models, the success
envelope `{"success": true, "data": …}` and the error one `{"success": false, "error": …}`."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

__all__ = [
    "ApiModel",
    "Commit",
    "Digest",
    "ErrorBody",
    "ErrorDetail",
    "FieldProblem",
    "Line",
    "Success",
    "TestResults",
]

# No control characters (PostgreSQL refuses NUL in text; none belongs in a name or a ref).
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


Line = Annotated[str, StringConstraints(min_length=1, pattern=_PRINTABLE)]
"""A one-line string, not empty; each field sets its own max_length."""


Digest = Annotated[
    str,
    StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$"),
    Field(description="The image manifest's digest, as the registry reports it"),
]
Commit = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{7,64}$"),
    Field(description="The commit's sha (lower-case hex, 7 to 64 digits)"),
]


class ApiModel(BaseModel):
    """camelCase on the wire (the shape CI users paste); snake_case in Python. Unknown fields
    are refused, so a misspelt one is a 422 naming it rather than silently ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


T = TypeVar("T")


class Success(ApiModel, Generic[T]):
    success: Literal[True] = True
    data: T


class FieldProblem(ApiModel):
    path: str = Field(description="Where in the request: body.sourceRef.commit, query.limit …")
    message: str


class ErrorDetail(ApiModel):
    code: str = Field(description="A stable, machine-readable word: invalid_json, not_found …")
    message: str = Field(description="What went wrong and what to do, for a person")
    fields: list[FieldProblem] | None = Field(
        None, description="422: each field that does not fit the schema"
    )
    differences: list[str] | None = Field(
        None, description="409: how the existing release differs from the request"
    )


class ErrorBody(ApiModel):
    success: Literal[False] = False
    error: ErrorDetail


class TestResults(ApiModel):
    passed: int = Field(0, ge=0, le=10**9)
    failed: int = Field(0, ge=0, le=10**9)
    skipped: int = Field(0, ge=0, le=10**9)
