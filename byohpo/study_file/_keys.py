"""Checks every table of a study file shares: a value's type, and an unknown key's error."""

from __future__ import annotations

import difflib
from typing import Any

from byohpo.errors import StudyFileError


def type_name(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def check_type(value: Any, expected: type | tuple[type, ...], path: str, key: str) -> None:
    if isinstance(value, bool) and bool not in (
        expected if isinstance(expected, tuple) else (expected,)
    ):
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise StudyFileError(
            f"must be {type_name(expected)}",
            f"{value!r} ({type(value).__name__})",
            f"Write {key} = <{type_name(expected)}>.",
            path=path,
            key=key,
        )


def unknown_key(key: str, known: list[str], path: str, table: str) -> StudyFileError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return StudyFileError(
        f"unknown key {key!r} in [{table}]",
        None,
        f"{hint}Known keys: {', '.join(sorted(known))}.",
        path=path,
        key=f"{table}.{key}",
    )
