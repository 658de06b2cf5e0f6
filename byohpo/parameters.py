"""Typed hyperparameters and the strings SageMaker passes to a training script.

Each tunable parameter (:class:`Continuous`, :class:`Integer`,
:class:`Categorical`) maps its values to and from ``[0, 1]`` on its own
scale; decoding is deterministic: integers and categories fall in equal-width
bins, and continuous values are rounded to :data:`SIGNIFICANT_DIGITS`
significant digits so that the string SageMaker receives reads well and parses
back to exactly the same float. :class:`Static` values ride along unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from byohpo.errors import SearchSpaceError

Value: TypeAlias = str | int | float | bool
"""A hyperparameter value as the training script receives it (before it becomes a string)."""

Config: TypeAlias = dict[str, Value]
"""One configuration: a value for every parameter of the space."""

SIGNIFICANT_DIGITS = 6
"""Continuous values are rounded to this many significant digits when decoded."""

MAX_HYPERPARAMETERS = 100
"""SageMaker accepts at most this many hyperparameters for one training job."""

MAX_NAME_LENGTH = 256
MAX_VALUE_LENGTH = 2500

Scaling = Literal["linear", "log", "reverse_log"]

_SCALING_ALIASES: dict[str, str] = {
    "linear": "linear",
    "log": "log",
    "logarithmic": "log",
    "reverse_log": "reverse_log",
    "reverselog": "reverse_log",
    "reverse-log": "reverse_log",
    "reverselogarithmic": "reverse_log",
    "auto": "linear",
}


def format_value(value: Value) -> str:
    """Render a value as the string SageMaker passes to the training script.

    Floats use the shortest text that parses back to the same float, booleans
    are JSON's ``true``/``false`` (SageMaker's training toolkit decodes values
    as JSON), and integers and strings are written as they are.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SearchSpaceError(
                "a hyperparameter value must be a finite number", value, "Use a finite value."
            )
        return repr(value)  # shortest text that parses back to this float; keeps "1.0"
    return str(value)


def round_significant(x: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """Round to ``digits`` significant digits (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def _check_number(name: str, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SearchSpaceError(
            f"{name}: '{field}' must be a number", repr(value), f"Give {field} as a number."
        )
    if not math.isfinite(value):
        raise SearchSpaceError(
            f"{name}: '{field}' must be finite", repr(value), f"Give a finite {field}."
        )
    return float(value)


def _normalize_scaling(name: str, scaling: str, allowed: Sequence[str]) -> str:
    key = str(scaling).replace(" ", "").lower()
    canonical = _SCALING_ALIASES.get(key)
    if canonical is None or canonical not in allowed:
        raise SearchSpaceError(
            f"{name}: scaling must be one of {', '.join(repr(a) for a in allowed)}",
            repr(scaling),
            "Pick one of those.",
        )
    return canonical


@dataclass(frozen=True)
class Static:
    """A fixed hyperparameter, passed to every job unchanged."""

    value: Value
    kind: ClassVar[str] = "static"

    def __post_init__(self) -> None:
        if not isinstance(self.value, str | int | float | bool):
            raise SearchSpaceError(
                "a Static value must be a string, number or bool",
                f"{self.value!r} of type {type(self.value).__name__}",
                "Convert it to one of those, e.g. Static(str(value)).",
            )
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise SearchSpaceError(
                "a Static number must be finite", self.value, "Give a finite value."
            )

    def to_json(self) -> dict[str, Any]:
        return {"type": "static", "value": self.value}


@dataclass(frozen=True)
class Continuous:
    """A real-valued hyperparameter in ``[min, max]``.

    ``scaling`` is ``"linear"``, ``"log"`` (``min > 0``: searches orders of
    magnitude evenly, for learning rates) or ``"reverse_log"``
    (``0 <= min < max < 1``: dense near 1, for momentum or decay rates), as
    SageMaker's ``Linear``, ``Logarithmic`` and ``ReverseLogarithmic``.
    """

    min: float
    max: float
    scaling: Scaling = "linear"
    kind: ClassVar[str] = "continuous"

    def __post_init__(self) -> None:
        lo = _check_number("Continuous", "min", self.min)
        hi = _check_number("Continuous", "max", self.max)
        scaling = _normalize_scaling("Continuous", self.scaling, ("linear", "log", "reverse_log"))
        object.__setattr__(self, "min", lo)
        object.__setattr__(self, "max", hi)
        object.__setattr__(self, "scaling", scaling)
        if not lo < hi:
            raise SearchSpaceError(
                "Continuous: `min < max` must hold",
                f"(min={self.min}, max={self.max})",
                "Swap them, or use Static for a fixed value.",
            )
        if scaling == "log" and lo <= 0:
            raise SearchSpaceError(
                "Continuous with scaling='log': `min > 0` must hold",
                f"min={self.min}",
                "Raise min above 0 (e.g. 1e-6), or use scaling='linear'.",
            )
        if scaling == "reverse_log" and not (lo >= 0 and hi < 1):
            raise SearchSpaceError(
                "Continuous with scaling='reverse_log': `0 <= min < max < 1` must hold",
                f"(min={self.min}, max={self.max})",
                "Use it for values just below 1 such as momentum, or use scaling='linear'.",
            )

    def decode(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        if self.scaling == "log":
            x = math.exp(math.log(self.min) + u * (math.log(self.max) - math.log(self.min)))
        elif self.scaling == "reverse_log":
            a, b = math.log(1 - self.min), math.log(1 - self.max)
            x = 1 - math.exp(a + u * (b - a))
        else:
            x = self.min + u * (self.max - self.min)
        return min(max(round_significant(x), self.min), self.max)

    def encode(self, value: float) -> float:
        x = min(max(float(value), self.min), self.max)
        if self.scaling == "log":
            u = (math.log(x) - math.log(self.min)) / (math.log(self.max) - math.log(self.min))
        elif self.scaling == "reverse_log":
            a, b = math.log(1 - self.min), math.log(1 - self.max)
            u = (math.log(1 - x) - a) / (b - a)
        else:
            u = (x - self.min) / (self.max - self.min)
        return min(max(u, 0.0), 1.0)

    def contains(self, value: object) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and self.min <= value <= self.max
        )

    def to_json(self) -> dict[str, Any]:
        return {"type": "continuous", "min": self.min, "max": self.max, "scaling": self.scaling}


@dataclass(frozen=True)
class Integer:
    """An integer hyperparameter in ``[min, max]``, both included.

    ``scaling`` is ``"linear"`` or ``"log"`` (``min > 0``). Every integer owns
    an equal share of its scale, so decoding is deterministic.
    """

    min: int
    max: int
    scaling: Literal["linear", "log"] = "linear"
    kind: ClassVar[str] = "integer"

    def __post_init__(self) -> None:
        for field in ("min", "max"):
            value = getattr(self, field)
            if isinstance(value, float) and value.is_integer():
                object.__setattr__(self, field, int(value))
            elif isinstance(value, bool) or not isinstance(value, int):
                raise SearchSpaceError(
                    f"Integer: '{field}' must be a whole number",
                    repr(value),
                    "Use whole-number bounds, or Continuous for real values.",
                )
        scaling = _normalize_scaling("Integer", self.scaling, ("linear", "log"))
        object.__setattr__(self, "scaling", scaling)
        if not self.min < self.max:
            raise SearchSpaceError(
                "Integer: `min < max` must hold",
                f"(min={self.min}, max={self.max})",
                "Swap them, or use Static for a fixed value.",
            )
        if scaling == "log" and self.min <= 0:
            raise SearchSpaceError(
                "Integer with scaling='log': `min > 0` must hold",
                f"min={self.min}",
                "Raise min to 1 or more, or use scaling='linear'.",
            )

    def _edges(self) -> tuple[float, float]:
        # Integer k owns [k, k+1) on the (log) scale.
        if self.scaling == "log":
            return math.log(self.min), math.log(self.max + 1)
        return float(self.min), float(self.max + 1)

    def decode(self, u: float) -> int:
        u = min(max(u, 0.0), 1.0)
        lo, hi = self._edges()
        x = lo + u * (hi - lo)
        if self.scaling == "log":
            x = math.exp(x)
        return min(max(math.floor(x), self.min), self.max)

    def encode(self, value: int) -> float:
        k = min(max(int(value), self.min), self.max)
        lo, hi = self._edges()
        mid = (math.log(k) + math.log(k + 1)) / 2 if self.scaling == "log" else k + 0.5
        return min(max((mid - lo) / (hi - lo), 0.0), 1.0)

    def contains(self, value: object) -> bool:
        return (
            isinstance(value, int) and not isinstance(value, bool) and self.min <= value <= self.max
        )

    def to_json(self) -> dict[str, Any]:
        return {"type": "integer", "min": self.min, "max": self.max, "scaling": self.scaling}


@dataclass(frozen=True)
class Categorical:
    """One of a list of values (strings, numbers or bools), each equally likely."""

    values: tuple[Value, ...]
    kind: ClassVar[str] = "categorical"

    def __init__(self, values: Sequence[Value]) -> None:
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise SearchSpaceError(
                "Categorical: values must be a list", repr(values), 'Write Categorical(["a", "b"]).'
            )
        values = tuple(values)
        if not values:
            raise SearchSpaceError(
                "Categorical: at least one value is needed", "[]", "List the choices."
            )
        for v in values:
            if not isinstance(v, str | int | float | bool):
                raise SearchSpaceError(
                    "Categorical: every value must be a string, number or bool",
                    f"{v!r} of type {type(v).__name__}",
                    "Convert the values to strings or numbers.",
                )
        texts = [format_value(v) for v in values]
        duplicated = sorted({t for t in texts if texts.count(t) > 1})
        if duplicated:
            raise SearchSpaceError(
                "Categorical: values must be distinct as SageMaker receives them (as strings)",
                f"{list(values)!r} repeats {', '.join(duplicated)}",
                "Remove the repeated values.",
            )
        object.__setattr__(self, "values", values)

    def decode(self, u: float) -> Value:
        k = len(self.values)
        return self.values[min(max(math.floor(u * k), 0), k - 1)]

    def encode(self, value: Value) -> float:
        text = format_value(value)
        for i, v in enumerate(self.values):
            if format_value(v) == text:
                return (i + 0.5) / len(self.values)
        raise SearchSpaceError(
            "a categorical value must be one of the choices",
            repr(value),
            f"Use one of {list(self.values)!r}.",
        )

    def contains(self, value: object) -> bool:
        if not isinstance(value, str | int | float | bool):
            return False
        text = format_value(value)
        return any(format_value(v) == text for v in self.values)

    def to_json(self) -> dict[str, Any]:
        return {"type": "categorical", "values": list(self.values)}


Parameter: TypeAlias = Static | Continuous | Integer | Categorical
Tunable: TypeAlias = Continuous | Integer | Categorical

_KINDS: dict[str, type] = {
    "static": Static,
    "continuous": Continuous,
    "integer": Integer,
    "categorical": Categorical,
}


def check_hyperparameter_name(name: object) -> str:
    """Raise unless SageMaker would take ``name`` as a hyperparameter name."""
    if not isinstance(name, str) or not name.strip():
        raise SearchSpaceError(
            "a hyperparameter name must be a non-empty string",
            repr(name),
            "Name it, e.g. 'learning_rate'.",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise SearchSpaceError(
            f"a hyperparameter name must have at most {MAX_NAME_LENGTH} characters",
            f"{len(name)} characters",
            "Shorten the name.",
        )
    if any(not ch.isprintable() for ch in name) or name != name.strip():
        raise SearchSpaceError(
            "a hyperparameter name must be printable, without leading or trailing spaces",
            repr(name),
            "Remove control characters and surrounding spaces.",
        )
    if name.lower().startswith("sagemaker_"):
        raise SearchSpaceError(
            "names starting with 'sagemaker_' are reserved by SageMaker's training toolkit",
            repr(name),
            "Rename the hyperparameter.",
        )
    return name


def parameter_from_json(data: Mapping[str, Any], name: str = "parameter") -> Parameter:
    """Build a parameter from its JSON (and study-file) form, e.g. ``{"type": "integer", ...}``."""
    if not isinstance(data, Mapping) or "type" not in data:
        raise SearchSpaceError(
            f"{name}: a parameter needs a 'type'",
            repr(data),
            "Add type = 'continuous', 'integer', 'categorical' or 'static'.",
        )
    kind = str(data["type"]).lower()
    cls = _KINDS.get(kind)
    if cls is None:
        raise SearchSpaceError(
            f"{name}: type must be one of {', '.join(_KINDS)}", repr(data["type"]), "Fix the type."
        )
    fields = {k: v for k, v in data.items() if k != "type"}
    allowed = {
        "static": {"value"},
        "continuous": {"min", "max", "scaling"},
        "integer": {"min", "max", "scaling"},
        "categorical": {"values"},
    }[kind]
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise SearchSpaceError(
            f"{name}: a {kind} parameter takes only {', '.join(sorted(allowed))}",
            f"unknown key(s) {', '.join(unknown)}",
            "Remove or rename them.",
        )
    missing = sorted(allowed - set(fields) - {"scaling"})
    if missing:
        raise SearchSpaceError(
            f"{name}: a {kind} parameter needs {', '.join(missing)}", repr(dict(data)), "Add them."
        )
    try:
        return cls(**fields)
    except SearchSpaceError as exc:
        raise SearchSpaceError(f"{name}: {exc.must}", exc.got, exc.fix) from None
