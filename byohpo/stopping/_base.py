"""The stopping-rule seam: a running trial's latest learning-curve point in, continue or stop out.

A stopping rule never touches AWS, the store or the strategy. The study
hands it one :class:`CurvePoint` at a time, in the order the points were
logged, and acts on the :class:`Decision` it returns (StopTrainingJob, a
record in the study's memory, a partial result told to the strategy).
Decisions are a function of the points a rule was shown, so replaying a
study's stored curves rebuilds a rule's state exactly.

A rule of the user's own needs one method::

    class StopBelowHalf:
        def decide(self, point: byohpo.stopping.CurvePoint) -> bool:
            return point.point >= 3 and point.value < 0.5   # True: stop the job

``decide`` may also return a :class:`Decision`, to say why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from byohpo.errors import UserError


@dataclass(frozen=True)
class CurvePoint:
    """One intermediate value of a running trial's objective metric.

    ``point`` counts the values the job has reported, from 1 (an epoch, when
    the script prints one line per epoch); ``seconds`` is the time since the
    job's first log line; ``maximize`` says which way is better.
    """

    trial_id: int
    point: int
    value: float
    seconds: float = 0.0
    maximize: bool = True

    def __post_init__(self) -> None:
        if self.point < 1:
            raise UserError("a curve point counts from 1", f"point={self.point}")
        if not math.isfinite(self.value):
            raise UserError("a curve point's value is a finite number", f"value={self.value}")

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b`` in this metric's direction."""
        return a > b if self.maximize else a < b


@dataclass(frozen=True)
class Decision:
    """A rule's answer for one point: ``stop`` (with the reason shown in the results) or not.

    ``resumable``: the stop is a pause (ASHA's promotion form): the rule may
    later ask for the configuration to continue from the job's checkpoint.
    """

    stop: bool
    reason: str = ""
    resumable: bool = False

    @classmethod
    def keep_going(cls) -> Decision:
        return cls(False)

    @classmethod
    def stop_now(cls, reason: str) -> Decision:
        return cls(True, reason)


CONTINUE = Decision.keep_going()


@runtime_checkable
class StoppingRule(Protocol):
    """Anything with ``decide(point) -> Decision | bool`` (True: stop)."""

    def decide(self, point: CurvePoint) -> Decision | bool: ...


def as_decision(answer: object, rule: object) -> Decision:
    """A rule's answer as a :class:`Decision`; anything else is the rule's mistake."""
    if isinstance(answer, Decision):
        return answer
    if isinstance(answer, bool):
        return Decision(answer, f"{type(rule).__name__} said stop" if answer else "")
    raise UserError(
        "a stopping rule's decide(point) returns True (stop), False (continue) or a Decision",
        f"{answer!r} from {type(rule).__name__}",
        "Return a bool or byohpo.stopping.Decision.",
    )


def positive_int(rule: str, name: str, value: object, minimum: int = 1) -> int:
    """An option that must be a whole number >= ``minimum``, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(
            f"the {rule!r} rule's {name} is a whole number >= {minimum}",
            f"{name}={value!r}",
            f"Set [early_stopping] {name} = {max(minimum, 1)} or more.",
        )
    return value


def rule_options(rule: Any) -> dict[str, Any]:
    """The options a built-in rule was made with (recorded to rebuild it on resume)."""
    options = getattr(rule, "options", None)
    return dict(options) if isinstance(options, dict) else {}
