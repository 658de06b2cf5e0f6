"""Faults as users write them, and as a fake-AWS service receives them.

On the command line, ``byohpo run STUDY.toml --dry-run --faults throttle=0.3,fail=0.1``;
in a study file, the same names in a table::

    [dry_run.faults]
    throttle = 0.3      # a fraction of SageMaker calls answered ThrottlingException
    fail = 0.1          # a fraction of jobs that end Failed whatever their script does
    capacity = 0.05     # a fraction of CreateTrainingJob calls refused (ResourceLimitExceeded)

Both become a :class:`~byohpo.fake._faults.Faults`; anything else is refused with a message
naming what is allowed. A service in another process gets them as plain JSON
(:func:`faults_to_json`, :func:`faults_from_json`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from byohpo.errors import UserError
from byohpo.fake._faults import FailureKind, Faults


@dataclass(frozen=True)
class _Setting:
    field: str
    """The :class:`Faults` field it sets."""
    meaning: str
    fraction: bool = True


SETTINGS: Mapping[str, _Setting] = {
    "throttle": _Setting("throttle_rate", "a fraction of SageMaker calls throttled"),
    "fail": _Setting("job_failure_rate", "a fraction of jobs that fail"),
    "capacity": _Setting("capacity_error_rate", "a fraction of job launches refused"),
    "slow_start": _Setting("slow_start_rate", "a fraction of jobs that start slowly"),
    "slow_start_seconds": _Setting(
        "slow_start_seconds", "seconds a slow job waits longer", fraction=False
    ),
    "missing_metrics": _Setting("missing_metrics_rate", "a fraction of jobs without metrics"),
    "seed": _Setting("seed", "which calls and jobs the faults hit", fraction=False),
}
"""The names a user writes, and the :class:`Faults` field each one sets."""

EXAMPLE = "throttle=0.3,fail=0.1,capacity=0.05"


def _names() -> str:
    return ", ".join(SETTINGS)


def faults_from_text(text: str, where: str = "--faults") -> Faults:
    """``"throttle=0.3,fail=0.1"`` as :class:`Faults`; :class:`UserError` if it is not that."""
    values: dict[str, object] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, equals, value = part.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise UserError(
                f"{where} takes NAME=VALUE pairs separated by commas",
                repr(text),
                f"Write for example {where} {EXAMPLE} (names: {_names()}).",
            )
        values[name.strip()] = value.strip()
    if not values:
        raise UserError(
            f"{where} must name at least one fault",
            repr(text),
            f"Write for example {where} {EXAMPLE}.",
        )
    return faults_from_table(values, where)


def faults_from_table(table: Mapping[str, object], where: str = "[dry_run.faults]") -> Faults:
    """A ``[dry_run.faults]`` table (or parsed ``--faults`` text) as :class:`Faults`.

    Values may be numbers or their text; fractions must lie in [0, 1], ``seed`` must be a
    whole number and ``slow_start_seconds`` >= 0. Raises :class:`UserError` naming the key.
    """
    fields: dict[str, Any] = {}
    for name, raw in table.items():
        setting = SETTINGS.get(name)
        if setting is None:
            raise UserError(
                f"{where} knows the faults {_names()}",
                repr(name),
                f"Write for example {EXAMPLE}.",
            )
        fields[setting.field] = _value(name, raw, setting, where)
    return Faults(**fields)


def _value(name: str, raw: object, setting: _Setting, where: str) -> float | int:
    number: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise UserError(f"{where} {name} must be a number", repr(raw), _fix(name, setting))
    if setting.field == "seed":
        if not number.is_integer():
            raise UserError(f"{where} seed must be a whole number", repr(raw), "Write seed=7.")
        return int(number)
    if setting.fraction and not 0.0 <= number <= 1.0:
        raise UserError(
            f"{where} {name} is {setting.meaning}: it must lie between 0 and 1",
            repr(raw),
            _fix(name, setting),
        )
    if number < 0:
        raise UserError(f"{where} {name} must be >= 0", repr(raw), _fix(name, setting))
    return number


def _fix(name: str, setting: _Setting) -> str:
    if setting.fraction:
        return f"Write for example {name}=0.1 for one in ten."
    return f"Write for example {name}=5."


def faults_to_json(faults: Faults) -> dict[str, Any]:
    """Plain values that :func:`faults_from_json` turns back into the same :class:`Faults`."""
    return {
        "seed": faults.seed,
        "throttle_rate": faults.throttle_rate,
        "throttle_operations": (
            None if faults.throttle_operations is None else sorted(faults.throttle_operations)
        ),
        "rate_limits": dict(faults.rate_limits),
        "capacity_error_rate": faults.capacity_error_rate,
        "job_failure_rate": faults.job_failure_rate,
        "job_failure_kinds": [str(kind) for kind in faults.job_failure_kinds],
        "slow_start_rate": faults.slow_start_rate,
        "slow_start_seconds": faults.slow_start_seconds,
        "missing_metrics_rate": faults.missing_metrics_rate,
    }


def faults_from_json(data: Mapping[str, Any]) -> Faults:
    """The :class:`Faults` that :func:`faults_to_json` wrote."""
    fields = dict(data)
    if fields.get("throttle_operations") is not None:
        fields["throttle_operations"] = frozenset(fields["throttle_operations"])
    if "job_failure_kinds" in fields:
        fields["job_failure_kinds"] = tuple(FailureKind(k) for k in fields["job_failure_kinds"])
    return Faults(**fields)


def describe_faults(faults: Faults) -> str:
    """The faults that are on, in the words a user wrote them (``throttle=0.3, fail=0.1``)."""
    default = Faults()
    parts = [
        f"{name}={getattr(faults, setting.field):g}"
        for name, setting in SETTINGS.items()
        if getattr(faults, setting.field) != getattr(default, setting.field)
    ]
    return ", ".join(parts) or "none"
