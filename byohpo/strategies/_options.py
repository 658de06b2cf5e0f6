"""Validation of the options a strategy is built with.

Each check returns the value in its canonical type or raises
:class:`~byohpo.errors.StrategyError` saying what must hold, what was given
and how to fix it, so a bad option is caught before any job is launched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from byohpo.errors import StrategyError


def _number(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StrategyError(
            f"{owner}: {name} must be a finite number", repr(value), f"Give {name} as a number."
        )
    return float(value)


def whole(owner: str, name: str, value: object, minimum: int) -> int:
    """A whole number ``>= minimum``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StrategyError(
            f"{owner}: {name} must be a whole number >= {minimum}",
            repr(value),
            f"Set {name} to {minimum} or more.",
        )
    return value


def optional_whole(owner: str, name: str, value: object, minimum: int) -> int | None:
    """``None`` (decided later) or a whole number ``>= minimum``."""
    return None if value is None else whole(owner, name, value, minimum)


def rate(owner: str, name: str, value: object) -> float:
    """A probability in ``[0, 1]``."""
    number = _number(owner, name, value)
    if not 0.0 <= number <= 1.0:
        raise StrategyError(
            f"{owner}: {name} must lie in [0, 1]", repr(value), f"Give {name} as a probability."
        )
    return number


def positive(owner: str, name: str, value: object) -> float:
    """A number ``> 0``."""
    number = _number(owner, name, value)
    if number <= 0:
        raise StrategyError(f"{owner}: {name} must be > 0", repr(value), f"Give a positive {name}.")
    return number


def optional_positive(owner: str, name: str, value: object) -> float | None:
    """``None`` (decided later) or a number ``> 0``."""
    return None if value is None else positive(owner, name, value)


def non_negative(owner: str, name: str, value: object) -> float:
    """A number ``>= 0``."""
    number = _number(owner, name, value)
    if number < 0:
        raise StrategyError(
            f"{owner}: {name} must be >= 0", repr(value), f"Give {name} as 0 or more."
        )
    return number


def open_unit(owner: str, name: str, value: object) -> float:
    """A number strictly between 0 and 1."""
    number = _number(owner, name, value)
    if not 0.0 < number < 1.0:
        raise StrategyError(
            f"{owner}: {name} must lie strictly between 0 and 1",
            repr(value),
            f"Give {name} such as 0.9.",
        )
    return number


def choice(owner: str, name: str, value: object, allowed: Sequence[str]) -> str:
    """One of ``allowed`` (compared case-insensitively)."""
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text is None or text not in allowed:
        raise StrategyError(
            f"{owner}: {name} must be one of {', '.join(repr(a) for a in allowed)}",
            repr(value),
            "Pick one of those.",
        )
    return text
