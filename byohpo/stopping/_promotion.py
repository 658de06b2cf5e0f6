"""ASHA's promotion form: pause a job at a rung, promote it later from its checkpoint.

In the promotion form of asynchronous successive halving (Li et al., MLSys
2020, Algorithm 2) a configuration that reaches a rung is *paused* there
unless it is among the best ``floor(n / reduction_factor)`` of the ``n``
configurations recorded at that rung and not promoted from it yet. A paused
configuration is *promoted* later, when enough worse ones reach its rung:
the study then continues it from its checkpoint as a new job, so no epoch is
trained twice. Promotions come before new configurations, highest rung
first, as the paper's ``get_job`` has it.

With a budget of configurations, the top rungs may never hold enough of
them for ``floor(n / reduction_factor)`` to reach 1, and no job would run to
the end. So once no new configuration will start (:meth:`PromotionLadder.finish`),
a rung is complete, as in synchronous successive halving: its best
``max(1, floor(n / reduction_factor))`` go on.

On SageMaker a pause is StopTrainingJob and a promotion a new job starting
from a copy of the paused job's checkpoint. A configuration that qualifies
the moment it reaches a rung simply goes on training (it is promoted in
place, without paying a second start-up).

The rule sees configurations, not jobs: the study gives every job of one
configuration's chain the same ``trial_id`` in its :class:`CurvePoint`
(the chain's first trial) and counts points across the chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from byohpo.stopping._base import CONTINUE, CurvePoint, Decision


@dataclass(frozen=True)
class Promotion:
    """A paused configuration the rule would continue now: its id and the rung it waits at."""

    config_id: int
    rung: int
    value: float


@dataclass
class PromotionLadder:
    """The rungs of ASHA's promotion form and which configurations paused or went on at each.

    Not thread-safe; one per study. Its state follows from the points it was
    shown and the promotions it was told of, so a resumed study rebuilds it
    by replaying both.
    """

    grace_period: int
    reduction_factor: int
    max_points: int | None
    recorded: dict[int, dict[int, float]] = field(default_factory=dict)  # rung -> config -> value
    promoted: dict[int, set[int]] = field(default_factory=dict)  # rung -> configs gone on
    paused: dict[int, int] = field(default_factory=dict)  # config -> rung it waits at
    judged: dict[int, int] = field(default_factory=dict)  # config -> highest rung judged
    maximize: bool = True
    finishing: bool = False  # no new configuration will start: each rung's best goes on

    def levels_up_to(self, point: int) -> list[int]:
        levels = []
        level = self.grace_period
        while level <= point and (self.max_points is None or level < self.max_points):
            levels.append(level)
            level *= self.reduction_factor
        return levels

    def _best(self, rung: int) -> list[int]:
        """The configurations in the top ``floor(n / reduction_factor)`` of a rung, best first
        (ties: the one recorded first)."""
        values = self.recorded.get(rung, {})
        ranked = sorted(values, key=lambda c: -values[c] if self.maximize else values[c])
        keep = len(values) // self.reduction_factor
        return ranked[: max(1, keep) if self.finishing else keep]

    def decide(self, point: CurvePoint) -> Decision:
        """Record the point at each new rung it reaches; pause the configuration at the first
        rung where it does not qualify. Points of a paused configuration change nothing."""
        config = point.trial_id
        self.maximize = point.maximize
        if config in self.paused:
            return CONTINUE
        done = self.judged.get(config, 0)
        for level in self.levels_up_to(point.point):
            if level <= done:
                continue
            self.judged[config] = level
            self.recorded.setdefault(level, {})[config] = point.value
            gone_on = self.promoted.setdefault(level, set())
            if config in self._best(level):
                gone_on.add(config)
                continue
            self.paused[config] = level
            n = len(self.recorded[level])
            return Decision(
                True,
                f"paused at rung {level}: value {point.value:.6g} is not yet in the top "
                f"1/{self.reduction_factor} of the {n} configurations that reached it; it "
                "continues from its checkpoint if it gets there",
                resumable=True,
            )
        return CONTINUE

    def promotable(self) -> list[Promotion]:
        """The paused configurations that now qualify, highest rung first, best first."""
        found = []
        for level in sorted(self.recorded, reverse=True):
            gone_on = self.promoted.get(level, set())
            for config in self._best(level):
                if config not in gone_on and self.paused.get(config) == level:
                    found.append(Promotion(config, level, self.recorded[level][config]))
        return found

    def finish(self) -> None:
        """No new configuration will start: from now on each rung's best goes on."""
        self.finishing = True

    def promote(self, config_id: int, rung: int) -> None:
        """The study continues ``config_id`` from rung ``rung`` (recorded before its job)."""
        if self.paused.get(config_id) == rung:
            del self.paused[config_id]
        self.promoted.setdefault(rung, set()).add(config_id)
