"""Writing a study file back as TOML: the copy a pipeline step reads from S3.

Only what study files hold is written: tables of strings, numbers, booleans, lists and
tables. ``tomllib.loads(dump_study(tables)) == tables`` holds for any such value; the
comments of the original file are not kept.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
INLINE_TABLES = frozenset({"space"})
"""Top-level tables whose entries are written inline, one line each (as users write them)."""


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"a study file cannot hold {type(value).__name__} values: {value!r}")


def _table(name: str, table: Mapping[str, Any], inline: bool, lines: list[str]) -> None:
    lines.append(f"[{name}]")
    nested = []
    for key, value in table.items():
        if isinstance(value, Mapping) and not inline:
            nested.append((key, value))
        else:
            lines.append(f"{_key(str(key))} = {_value(value)}")
    for key, value in nested:
        lines.append("")
        _table(f"{name}.{_key(str(key))}", value, False, lines)


def dump_study(tables: Mapping[str, Mapping[str, Any]], *, header: str = "") -> str:
    """The TOML text of a study file's tables (``header`` becomes leading comment lines)."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for name, table in tables.items():
        if lines:
            lines.append("")
        _table(_key(name), table, name in INLINE_TABLES, lines)
    return "\n".join(lines) + "\n"
