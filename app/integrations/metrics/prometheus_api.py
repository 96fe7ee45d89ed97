"""The Prometheus HTTP API's answers, read (pure): the `{status, data}` envelope and its
errors, an instant query's result as samples, a label's values and the build info.

An answer is `{"status": "success", "data": …}` or `{"status": "error", "errorType": …,
"error": …}` (with 400 for bad_data, 422 for execution, 503 for timeout). An instant query's
`data` is `{"resultType": "vector", "result": [{"metric": {…}, "value": [ts, "1.5"]}]}` or
`{"resultType": "scalar", "result": [ts, "1.5"]}`; values are strings ("NaN", "+Inf" too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from app.integrations.errors import Code, IntegrationError
from app.integrations.metrics.source import Sample

__all__ = ["read_answer", "read_build", "read_names", "read_samples"]

_ERROR_CODES: Mapping[str, Code] = {"bad_data": "INVALID_CONFIG", "timeout": "TIMEOUT"}


def read_answer(status: int, body: bytes, what: str) -> Any:
    """The `data` of a successful answer; IntegrationError for an error answer (bad_data:
    INVALID_CONFIG, the query is wrong; timeout: TIMEOUT; else PROVIDER_ERROR) and for
    anything that is not the API's envelope."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("status") not in ("success", "error"):
        if status >= 400:
            raise IntegrationError("PROVIDER_ERROR", f"{what}: answered {status}")
        raise IntegrationError(
            "PROVIDER_ERROR", f"{what}: the answer is not the Prometheus API's JSON envelope"
        )
    if answer["status"] == "error":
        kind = str(answer.get("errorType") or "unknown")
        message = " ".join(str(answer.get("error") or "no message given").split())[:300]
        code = _ERROR_CODES.get(kind, "PROVIDER_ERROR")
        raise IntegrationError(code, f"{what}: {kind}: {message}")
    if status >= 400:
        raise IntegrationError("PROVIDER_ERROR", f"{what}: answered {status}")
    return answer.get("data")


def read_samples(data: Any, what: str) -> list[Sample]:
    """An instant query's result: one sample per series of a vector, one for a scalar. A
    range vector (matrix), a string or a native histogram is no number to compare, and the
    query's mistake (INVALID_CONFIG)."""
    if not isinstance(data, dict):
        raise _malformed(what, "no result")
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        timestamp, value = _point(result, what)
        return [Sample(value, timestamp)]
    if kind == "vector" and isinstance(result, list):
        return [_vector_sample(item, what) for item in result]
    if kind == "matrix":
        raise IntegrationError(
            "INVALID_CONFIG",
            f"{what}: the query gives a range vector; give an instant vector or a scalar "
            "(e.g. rate(x[5m]) or avg_over_time(x[5m]) rather than x[5m])",
        )
    if kind == "string":
        raise IntegrationError("INVALID_CONFIG", f"{what}: the query gives a string, not a number")
    raise _malformed(what, f"result type {kind!r}")


def read_names(data: Any, what: str) -> list[str]:
    """A label's values (`/api/v1/label/<name>/values`): a list of strings."""
    if not isinstance(data, list) or not all(isinstance(name, str) for name in data):
        raise _malformed(what, "not a list of names")
    return list(data)


def read_build(data: Any) -> str:
    """`/api/v1/status/buildinfo`'s version ("" when it names none)."""
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else ""


def _vector_sample(item: Any, what: str) -> Sample:
    if not isinstance(item, dict):
        raise _malformed(what, "a vector item that is no object")
    if "value" not in item and "histogram" in item:
        raise IntegrationError(
            "INVALID_CONFIG",
            f"{what}: the query gives native histogram samples; compare a number taken from "
            "them (histogram_quantile, histogram_count, histogram_sum)",
        )
    metric = item.get("metric", {})
    if not isinstance(metric, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metric.items()
    ):
        raise _malformed(what, "labels that are not strings")
    timestamp, value = _point(item.get("value"), what)
    return Sample(value, timestamp, dict(metric))


def _point(pair: Any, what: str) -> tuple[float, float]:
    """`[timestamp, "value"]` as numbers."""
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or isinstance(pair[0], bool)
        or not isinstance(pair[0], int | float)
        or not isinstance(pair[1], str)
    ):
        raise _malformed(what, 'a value that is not [timestamp, "number"]')
    try:
        value = float(pair[1])
    except ValueError:
        raise _malformed(what, f"the value {pair[1][:40]!r}, which is no number") from None
    timestamp = float(pair[0])
    if not math.isfinite(timestamp):
        raise _malformed(what, "a timestamp that is no time")
    return timestamp, value


def _malformed(what: str, detail: str) -> IntegrationError:
    return IntegrationError("PROVIDER_ERROR", f"{what}: an answer the API does not give ({detail})")
