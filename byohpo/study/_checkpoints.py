"""The strategy's state in the log: checkpoints now and then, and exact replay after one.

A checkpoint is the strategy's whole snapshot. Writing one with every event made the
log grow with the square of the study for a strategy whose state is its history, so a
checkpoint is written only once the events since the last one outweigh it: the
checkpoints never take more room than the other events, and the log grows linearly
whatever the strategy.

A resume restores the last checkpoint and replays what the strategy was asked and told
after it, in the recorded order. Decisions are a function of the strategy's state
and what it is told, so the restored strategy makes exactly the decisions the
uninterrupted one would have made; if it does not (a strategy that is not
deterministic), the resume stops and says so rather than go on from another state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from byohpo.errors import StrategyError
from byohpo.study._state import Asked, StudyLog

if TYPE_CHECKING:
    from byohpo.strategies._base import Strategy

MIN_CHECKPOINT_BYTES = 65_536
"""Events written between two checkpoints, at least (a small state is not written often)."""


class CheckpointPolicy:
    """Decides when the strategy's state is worth writing again."""

    def __init__(self, minimum: int | None = None) -> None:
        self.minimum = MIN_CHECKPOINT_BYTES if minimum is None else minimum
        self.since = 0  # bytes of other events since the last checkpoint
        self.last = 0  # bytes of the last checkpoint

    def wrote(self, size: int) -> None:
        self.since += size

    def due(self) -> bool:
        return self.since > 0 and self.since >= max(self.minimum, self.last)

    def checkpointed(self, size: int) -> None:
        self.since, self.last = 0, size


def snapshot_of(strategy: Strategy) -> dict[str, Any] | None:
    """The strategy's snapshot, or None when it cannot take one (a user's ask/tell object)."""
    try:
        return strategy.snapshot()
    except NotImplementedError:
        return None


def _canonical(configs: Any) -> str:
    return json.dumps([dict(c) for c in configs], sort_keys=True, default=repr)


def restore_strategy(
    strategy: Strategy,
    log: StudyLog,
    tell: Callable[[int], tuple[Mapping[str, Any], Mapping[str, float] | None]],
) -> int:
    """Bring ``strategy`` to where the log left it; returns the steps replayed.

    ``tell(trial_id)`` gives what the strategy is told of a trial (the told
    configuration and its metrics, None for a failure), as the loop tells it.
    """
    if log.snapshot is not None:
        strategy.restore(log.snapshot)
    for step in log.since_snapshot:
        if isinstance(step, Asked):
            proposed = strategy.ask(step.n)[: step.n]
            recorded = [log.trials[t].config for t in step.trial_ids if t in log.trials]
            if _canonical(proposed) != _canonical(recorded):
                raise StrategyError(
                    "on resume, the strategy must propose again what it proposed before the "
                    "interruption (its decisions must follow from its seed and what it was told)",
                    f"trials {list(step.trial_ids)} were {recorded}, now {proposed}",
                    "Give the strategy a fixed seed, or a snapshot()/restore() pair, and start "
                    "the study again.",
                )
        else:
            for tid in step.trial_ids:
                if tid in log.trials:
                    config, metrics = tell(tid)
                    strategy.tell(config, metrics)  # type: ignore[arg-type]
    return len(log.since_snapshot)
