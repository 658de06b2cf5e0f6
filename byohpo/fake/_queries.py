"""ListTrainingJobs and Search over the fake's jobs: filters, sorting, pagination.

Pagination tokens are opaque cursors (the sort key of the last job returned), so a page
never repeats or skips a job because another job was created between two calls. A token
only works with the request that produced it, as SageMaker's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from byohpo.fake._protocol import validation_error
from byohpo.fake._training_jobs import TrainingJobRecord

_DEFAULT_MAX_RESULTS = 10
_SEARCH_LIMIT = 50
"""SageMaker's cap on the filters, nested filters and subexpressions of one Search."""

Row = tuple[TrainingJobRecord, dict[str, Any]]


def _request_signature(params: Mapping[str, Any]) -> str:
    relevant = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


def _encode_token(signature: str, cursor: list[Any]) -> str:
    raw = json.dumps({"s": signature, "c": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str, signature: str) -> list[Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        cursor = decoded["c"]
        valid = decoded["s"] == signature and isinstance(cursor, list)
    except (ValueError, KeyError, TypeError, binascii.Error):
        valid = False
    if not valid:
        raise validation_error("Invalid pagination token provided for this request.")
    return list(cursor)


def _sortable(value: Any) -> Any:
    """A value that orders with others of the same property (missing values first)."""
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def _page(
    rows: list[tuple[list[Any], Any]],
    params: Mapping[str, Any],
    descending: bool,
) -> tuple[list[Any], str | None]:
    """Sort ``(sort key, item)`` rows, cut the page after the token's cursor."""
    max_results = params.get("MaxResults", _DEFAULT_MAX_RESULTS)
    if not isinstance(max_results, int) or not 1 <= max_results <= 100:
        raise validation_error(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
            "satisfy constraint: Member must have value less than or equal to 100"
        )
    signature = _request_signature(params)
    rows.sort(key=lambda row: row[0], reverse=descending)
    token = params.get("NextToken")
    if token:
        cursor = _decode_token(token, signature)
        if len(cursor) != 2:
            raise validation_error("Invalid pagination token provided for this request.")
        cursor_key = [_sortable(cursor[0]), cursor[1]]
        if descending:
            rows = [row for row in rows if row[0] < cursor_key]
        else:
            rows = [row for row in rows if row[0] > cursor_key]
    page = rows[:max_results]
    next_token = None
    if len(rows) > max_results:
        last_key = page[-1][0]
        next_token = _encode_token(signature, [last_key[0][1], last_key[1]])
    return [item for _, item in page], next_token


def _timestamp(value: Any, name: str) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise validation_error(f"Invalid value for {name}: {value!r} is not a timestamp.")


_LIST_SORT_KEYS: dict[str, Callable[[TrainingJobRecord], Any]] = {
    "CreationTime": lambda r: r.creation_time,
    "Name": lambda r: r.name,
    "Status": lambda r: r.status.value,
}


def list_training_jobs(
    records: Iterable[TrainingJobRecord], params: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """The ListTrainingJobs response for ``params``."""
    sort_by = params.get("SortBy", "CreationTime")
    order = params.get("SortOrder", "Ascending")
    bounds = {
        name: _timestamp(params[name], name)
        for name in (
            "CreationTimeAfter",
            "CreationTimeBefore",
            "LastModifiedTimeAfter",
            "LastModifiedTimeBefore",
        )
        if params.get(name) is not None
    }
    name_contains = str(params.get("NameContains") or "").lower()
    status = params.get("StatusEquals")
    warm_pool = params.get("WarmPoolStatusEquals")
    rows: list[tuple[list[Any], Any]] = []
    for record in records:
        if name_contains and name_contains not in record.name.lower():
            continue
        if status and record.status.value != status:
            continue
        if not _within(record.creation_time, bounds, "CreationTime"):
            continue
        if not _within(record.last_modified_time, bounds, "LastModifiedTime"):
            continue
        summary = record.summary(now)
        if warm_pool and (summary.get("WarmPoolStatus") or {}).get("Status") != warm_pool:
            continue
        key = [_sortable(_LIST_SORT_KEYS[sort_by](record)), record.name.lower()]
        rows.append((key, summary))
    summaries, next_token = _page(rows, params, descending=order == "Descending")
    response: dict[str, Any] = {"TrainingJobSummaries": summaries}
    if next_token:
        response["NextToken"] = next_token
    return response


def _within(value: float, bounds: Mapping[str, float], prefix: str) -> bool:
    after = bounds.get(f"{prefix}After")
    before = bounds.get(f"{prefix}Before")
    return (after is None or value > after) and (before is None or value < before)


# --- Search -------------------------------------------------------------------------------


def _resolve(record: Mapping[str, Any], name: str) -> Any:
    """The value of a Search property such as ``TrainingJobName``, ``Tags.study``,
    ``HyperParameters.lr``, ``Metrics.accuracy`` or ``ResourceConfig.InstanceType``."""
    head, _, rest = name.partition(".")
    if head == "Tags":
        return next((t["Value"] for t in record.get("Tags", []) if t["Key"] == rest), None)
    if head == "Metrics":
        metrics = record.get("FinalMetricDataList") or []
        return next((m["Value"] for m in metrics if m["MetricName"] == rest), None)
    value: Any = record.get(head)
    if head == "HyperParameters" and rest:
        return (value or {}).get(rest)
    for part in rest.split(".") if rest else []:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _compare(actual: Any, expected: str, name: str) -> int:
    """-1, 0 or 1 comparing ``actual`` with the filter's string value."""
    if name.endswith("Time") and isinstance(actual, int | float):
        right = _timestamp(expected, name)
        return (actual > right) - (actual < right)
    left, right_number = _as_number(actual), _as_number(expected)
    if left is not None and right_number is not None:
        return (left > right_number) - (left < right_number)
    text = str(actual)
    return (text > expected) - (text < expected)


def _matches(record: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    return _satisfies(_resolve(record, flt.get("Name", "")), flt)


def _satisfies(actual: Any, flt: Mapping[str, Any]) -> bool:
    """Whether a property's value satisfies one filter."""
    name = flt.get("Name", "")
    operator = flt.get("Operator") or "Equals"
    value = flt.get("Value")
    if operator == "Exists":
        return actual is not None
    if operator == "NotExists":
        return actual is None
    if value is None:
        raise validation_error(f"Filter on '{name}' with operator {operator} needs a Value.")
    if actual is None:
        return operator == "NotEquals"
    if operator == "Contains":
        return str(value).lower() in str(actual).lower()
    if operator == "In":
        return str(actual) in [v.strip() for v in str(value).split(",")]
    order = _compare(actual, str(value), name)
    return {
        "Equals": order == 0,
        "NotEquals": order != 0,
        "GreaterThan": order > 0,
        "GreaterThanOrEqualTo": order >= 0,
        "LessThan": order < 0,
        "LessThanOrEqualTo": order <= 0,
    }.get(operator, False)


def _nested_matches(record: Mapping[str, Any], nested: Mapping[str, Any]) -> bool:
    """True if one element of the nested list property satisfies every one of its filters."""
    prop = nested.get("NestedPropertyName", "")
    items = _resolve(record, prop)
    if not isinstance(items, list):
        return False
    filters = nested.get("Filters", [])
    return any(all(_satisfies(_element_value(item, prop, f), f) for f in filters) for item in items)


def _element_value(item: Any, prop: str, flt: Mapping[str, Any]) -> Any:
    """The value a nested filter names (``InputDataConfig.ChannelName``) in one element."""
    name = str(flt.get("Name", ""))
    path = name[len(prop) + 1 :] if name.startswith(prop + ".") else name
    value = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _count_parts(expression: Mapping[str, Any]) -> int:
    count = len(expression.get("Filters", [])) + len(expression.get("NestedFilters", []))
    for sub in expression.get("SubExpressions", []):
        count += 1 + _count_parts(sub)
    return count


def _evaluate(record: Mapping[str, Any], expression: Mapping[str, Any]) -> bool:
    results = [_matches(record, f) for f in expression.get("Filters", [])]
    results += [_nested_matches(record, n) for n in expression.get("NestedFilters", [])]
    results += [_evaluate(record, s) for s in expression.get("SubExpressions", [])]
    if not results:
        return True
    return any(results) if expression.get("Operator") == "Or" else all(results)


def search_training_jobs(
    records: Sequence[TrainingJobRecord],
    params: Mapping[str, Any],
    now: float,
    spot_savings: float,
) -> dict[str, Any]:
    """The Search response (``Resource="TrainingJob"``) for ``params``."""
    expression = params.get("SearchExpression") or {}
    if expression and not any(
        expression.get(k) for k in ("Filters", "NestedFilters", "SubExpressions")
    ):
        raise validation_error(
            "A SearchExpression must contain at least one Filter, NestedFilter or SubExpression."
        )
    if _count_parts(expression) > _SEARCH_LIMIT:
        raise validation_error(
            f"The SearchExpression has more than {_SEARCH_LIMIT} Filters, NestedFilters and "
            "SubExpressions in total."
        )
    sort_by = params.get("SortBy", "LastModifiedTime")
    order = params.get("SortOrder", "Descending")
    rows: list[tuple[list[Any], Any]] = []
    for record in records:
        item = record.search_record(now, spot_savings)
        if expression and not _evaluate(item, expression):
            continue
        key = [_sortable(_resolve(item, sort_by)), record.name.lower()]
        rows.append((key, {"TrainingJob": item}))
    results, next_token = _page(rows, params, descending=order == "Descending")
    response: dict[str, Any] = {"Results": results}
    if next_token:
        response["NextToken"] = next_token
    return response
