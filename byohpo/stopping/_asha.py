"""Asynchronous successive halving (ASHA) and Hyperband, in their stopping form.

ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning",
MLSys 2020) puts rungs at ``grace_period * reduction_factor**k`` points. A
job reaching a rung continues only if its value there is in the top
``1/reduction_factor`` of the values recorded at that rung so far (its own
included); otherwise it is stopped. Nothing waits for a rung to fill, so
every slot stays busy: the asynchronous form that suits SageMaker jobs.

Hyperband runs several such ladders ("brackets"), from the most aggressive
(first rung at ``grace_period``) to one that never stops a job, and gives
each new trial a bracket in the proportions Hyperband assigns
configurations to its brackets. The strategy proposes every configuration;
the rule only decides where each one may be cut. This is the asynchronous
Hyperband of the same paper (as Ray Tune's and Syne Tune's stopping
schedulers implement it), not the synchronous one that waits for whole
brackets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from byohpo.errors import UserError
from byohpo.stopping._base import CONTINUE, CurvePoint, Decision, positive_int
from byohpo.stopping._promotion import Promotion, PromotionLadder


def _cutoff(values: list[float], keep: float, maximize: bool) -> float:
    """The value a job must reach to be in the best ``keep`` fraction of ``values``
    (linear interpolation between order statistics, as numpy's percentile)."""
    ordered = sorted(values, reverse=not maximize)  # worst first
    position = (1.0 - keep) * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class _Ladder:
    """The rungs of one bracket and the values recorded at each."""

    grace_period: int
    reduction_factor: int
    max_points: int | None
    recorded: dict[int, list[float]] = field(default_factory=dict)  # rung level -> values

    def levels_up_to(self, point: int) -> list[int]:
        levels = []
        level = self.grace_period
        while level <= point and (self.max_points is None or level < self.max_points):
            levels.append(level)
            level *= self.reduction_factor
        return levels


class ASHARule:
    """Stop a job that reaches a rung outside the top ``1/reduction_factor`` of that rung.

    Rungs are at ``grace_period * reduction_factor**k`` points (an epoch is a
    point when the script prints one line per epoch), below ``max_points``
    when it is known (a job that reaches its last point has finished anyway).

    With ``promote=True``, ASHA's promotion form (see
    :mod:`byohpo.stopping._promotion`): a job outside the top of its rung is
    paused rather than given up, and continues from its checkpoint as a new
    job once it is in the top ``1/reduction_factor`` of that rung. The job
    template needs ``checkpoint_s3_uri`` and the script must resume from its
    checkpoint. Not thread-safe; one rule per study.
    """

    name = "asha"

    def __init__(
        self,
        *,
        grace_period: int = 1,
        reduction_factor: int = 3,
        max_points: int | None = None,
        promote: bool = False,
    ) -> None:
        self.grace_period = positive_int(self.name, "grace_period", grace_period)
        self.reduction_factor = positive_int(
            self.name, "reduction_factor", reduction_factor, minimum=2
        )
        self.max_points = (
            None if max_points is None else positive_int(self.name, "max_points", max_points)
        )
        if not isinstance(promote, bool):
            raise UserError(
                "the 'asha' rule's promote is true or false",
                f"promote={promote!r}",
                "Set [early_stopping] promote = true (pause and promote) or leave it out (stop).",
            )
        self.promote = promote
        self._ladder = _Ladder(self.grace_period, self.reduction_factor, self.max_points)
        self._judged: dict[int, int] = {}  # trial id -> highest rung level it was judged at
        self._promotion = (
            PromotionLadder(self.grace_period, self.reduction_factor, self.max_points)
            if promote
            else None
        )

    @property
    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "grace_period": self.grace_period,
            "reduction_factor": self.reduction_factor,
            "max_points": self.max_points,
        }
        if self.promote:
            options["promote"] = True
        return options

    def decide(self, point: CurvePoint) -> Decision:
        if self._promotion is not None:
            return self._promotion.decide(point)
        return _judge(self._ladder, self._judged, point, "")

    def promotable(self) -> list[Promotion]:
        """Paused configurations that qualify now, highest rung first (promotion form only)."""
        return [] if self._promotion is None else self._promotion.promotable()

    def finish(self) -> None:
        """No new configuration will start (promotion form): each rung's best goes on."""
        if self._promotion is not None:
            self._promotion.finish()

    def promote_config(self, config_id: int, rung: int) -> None:
        """Record that the study continues a paused configuration from ``rung``."""
        if self._promotion is not None:
            self._promotion.promote(config_id, rung)


def _judge(ladder: _Ladder, judged: dict[int, int], point: CurvePoint, bracket: str) -> Decision:
    done = judged.get(point.trial_id, 0)
    for level in ladder.levels_up_to(point.point):
        if level <= done:
            continue
        judged[point.trial_id] = level
        values = ladder.recorded.setdefault(level, [])
        values.append(point.value)
        keep = 1.0 / ladder.reduction_factor
        cutoff = _cutoff(values, keep, point.maximize)
        if point.better(cutoff, point.value):
            return Decision.stop_now(
                f"value {point.value:.6g} at rung {level}{bracket} is outside the top "
                f"1/{ladder.reduction_factor} of the {len(values)} jobs that reached it "
                f"(needed {cutoff:.6g})"
            )
    return CONTINUE


class HyperbandRule:
    """Brackets of successive halving; each new trial is given a bracket, the strategy its
    configuration.

    With ``s_max = floor(log(max_points / grace_period, reduction_factor))``,
    bracket ``s`` (0..s_max) has its first rung at
    ``grace_period * reduction_factor**(s_max - s)`` and starts Hyperband's
    ``ceil((s_max + 1) / (s + 1) * reduction_factor**s)`` configurations per
    round; trials are dealt to brackets in those proportions, by trial id,
    so the assignment survives a resume. Bracket 0 never stops a job.
    """

    name = "hyperband"

    def __init__(
        self, *, max_points: int | None = None, grace_period: int = 1, reduction_factor: int = 3
    ) -> None:
        if max_points is None:
            raise UserError(
                "the 'hyperband' rule needs max_points, the number of points (epochs) a job "
                "reports when it runs to the end",
                "no max_points",
                "Set [early_stopping] max_points = <epochs> (or use 'asha', which needs none).",
            )
        self.max_points = positive_int(self.name, "max_points", max_points)
        self.grace_period = positive_int(self.name, "grace_period", grace_period)
        self.reduction_factor = positive_int(
            self.name, "reduction_factor", reduction_factor, minimum=2
        )
        if self.grace_period >= self.max_points:
            raise UserError(
                "the 'hyperband' rule's grace_period < max_points must hold",
                f"(grace_period={grace_period}, max_points={max_points})",
                "Lower grace_period: a job must be stoppable before its last point.",
            )
        ratio = self.max_points / self.grace_period
        self.s_max = math.floor(math.log(ratio) / math.log(self.reduction_factor) + 1e-9)
        self._ladders = [
            _Ladder(
                self.grace_period * self.reduction_factor ** (self.s_max - s)
                if s > 0
                else self.max_points,  # Hyperband's last bracket runs every job to the end
                self.reduction_factor,
                self.max_points,
            )
            for s in range(self.s_max + 1)
        ]
        deal: list[int] = []
        for s in range(self.s_max, -1, -1):
            count = math.ceil((self.s_max + 1) / (s + 1) * self.reduction_factor**s)
            deal.extend([s] * count)
        self._deal = deal
        self._judged: dict[int, int] = {}

    @property
    def options(self) -> dict[str, Any]:
        return {
            "max_points": self.max_points,
            "grace_period": self.grace_period,
            "reduction_factor": self.reduction_factor,
        }

    def bracket_of(self, trial_id: int) -> int:
        """The bracket a trial runs in (``s_max``: most aggressive; 0: never stopped)."""
        return self._deal[trial_id % len(self._deal)]

    def decide(self, point: CurvePoint) -> Decision:
        s = self.bracket_of(point.trial_id)
        return _judge(self._ladders[s], self._judged, point, f" of bracket {s}")
