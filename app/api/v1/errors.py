"""The API's errors: `ApiError` raised anywhere below an endpoint becomes
`{"success": false, "error": {"code", "message"}}` with its status; so do Starlette's own
404 and 405, a validation error, and (logged, never shown) anything unexpected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from app.api.v1.models import ErrorBody, ErrorDetail, FieldProblem

__all__ = [
    "ApiError",
    "Forbidden",
    "NotFound",
    "Unauthorized",
    "Unprocessable",
    "error_response",
    "field_path",
    "from_validation",
]

JSON = "application/json"


class ApiError(Exception):
    """An answer other than success: its status, a code and a message for a person."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: Sequence[FieldProblem] | None = None,
        differences: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.differences = fields, differences
        self.headers = dict(headers or {})

    def response(self) -> Response:
        detail = ErrorDetail(
            code=self.code,
            message=self.message,
            fields=list(self.fields) if self.fields is not None else None,
            differences=list(self.differences) if self.differences is not None else None,
        )
        body = ErrorBody(error=detail).model_dump_json(by_alias=True, exclude_none=True)
        return Response(body, status_code=self.status, media_type=JSON, headers=self.headers)


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(
            401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="shipyard"'}
        )


class Forbidden(ApiError):
    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(403, code, message)


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, "not_found", message)


class Unprocessable(ApiError):
    """422 about one field (`path`, as in `body.sourceRef.repository`)."""

    def __init__(self, path: str, message: str, code: str = "invalid") -> None:
        super().__init__(
            422, code, f"{path}: {message}", fields=[FieldProblem(path=path, message=message)]
        )


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return ApiError(status, code, message, headers=headers).response()


def field_path(where: str, location: Iterable[int | str]) -> str:
    """`body` and ("components", 0, "digest") → `body.components[0].digest`."""
    path = where
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def from_validation(where: str, error: ValidationError) -> ApiError:
    """A 422 naming each field that does not fit; never the values sent (they may be secret)."""
    problems = [
        FieldProblem(path=field_path(where, _location(item)), message=item["msg"])
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]
    summary = "; ".join(f"{p.path}: {p.message}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return ApiError(422, "invalid", summary + more, fields=problems)


def _location(item: Mapping[str, Any]) -> list[int | str]:
    # A union's failed branch adds the branch's name to the location; it is no field.
    return [part for part in item["loc"] if not (isinstance(part, str) and "[" in part)]
