"""Early stopping, study side: read running jobs' learning curves, ask the rule, stop jobs.

:class:`EarlyStopping` is what the study loop calls once per poll cycle
(:meth:`EarlyStopping.check`) and when it tells the strategy a stopped job's
result (:meth:`EarlyStopping.partial_result`). It reads each running job's
curve through the backend (incrementally: each read fetches only new log
lines), at most once per ``read_interval`` seconds per job plus one last
read when the job ends, so the curves in the study's memory are complete.

Promises:

- every point a rule is shown is recorded first (``"curve"`` events, only
  the new points of a read), and a stop is recorded (``"early_stop"``)
  before StopTrainingJob is sent; on resume :meth:`adopt` replays the stored
  points into the rule, so it decides as if the study had never stopped;
- a job is stopped only on a point it reported: a script that never prints
  the metric is never stopped blindly; after the first jobs end without a
  single intermediate value the study says so once, and runs jobs to the end;
- with ASHA's promotion form (``promote = true``) a stop is a pause: the
  rule sees every job of a configuration's chain as one (the chain's first
  trial id, points counted across the chain), and :meth:`promotions` offers
  the paused configurations it would continue, once their job has ended
  (see :mod:`byohpo.study._promotion`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from byohpo.backends._base import ReadsCurves, capability_error
from byohpo.errors import JobDefinitionError, UserError
from byohpo.parameters import Categorical, Integer, Static
from byohpo.stopping import (
    STUDY_OPTIONS,
    CurvePoint,
    Promotion,
    StoppingRule,
    as_decision,
    make_stopping_rule,
    rule_name,
)
from byohpo.study._events import CurveRead, EarlyStopped, EarlyStoppingBlind

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.backends._base import Backend
    from byohpo.job import TrainingJob
    from byohpo.objectives import Objective
    from byohpo.space import SearchSpace
    from byohpo.study._progress import Progress
    from byohpo.study._store import Store, TrialRecord

PROMOTED = "promoted"
"""The key, in a promoted trial's ``extra``, of what it continues: ``config`` (the chain's first
trial), ``rung``, ``offset`` (points the chain reported before it), ``from_trial``, and
``finishing`` when it was made once no new configuration would start."""

STOPPED_AT_POINT = "early_stopping:point"
"""The key, in the metrics told to a strategy for a job a rule stopped, of the point it reached."""

EPOCH_HYPERPARAMETERS = ("num_epoch", "num_epochs", "epochs", "n_epochs", "max_epochs", "epoch")
"""Hyperparameter names read as the number of epochs a job trains (one point per epoch)."""

BLIND_AFTER = 3
"""Jobs that must end without an intermediate value before the study says the rule is blind."""

DEFAULT_READ_INTERVAL = 60.0


def _epochs_range(job: TrainingJob, space: SearchSpace) -> tuple[str, int, int] | None:
    """The epochs hyperparameter and its smallest and largest value, when one is known."""
    for name in EPOCH_HYPERPARAMETERS:
        param = space.get(name) if name in space else None
        if isinstance(param, Integer):
            return name, param.min, param.max
        if isinstance(param, Static | Categorical):
            values = [param.value] if isinstance(param, Static) else list(param.values)
            numbers = [int(v) for v in values if isinstance(v, int | float) or str(v).isdigit()]
            if numbers:
                return name, min(numbers), max(numbers)
        fixed = job.hyperparameters.get(name)
        if fixed is not None and str(fixed).isdigit():
            return name, int(fixed), int(fixed)
    return None


@dataclass(frozen=True)
class EarlyStoppingPlan:
    """A checked early-stopping request: the rule, the metric it watches, how often it reads."""

    rule: StoppingRule
    name: str
    options: dict[str, Any]
    metric: str
    maximize: bool
    read_interval: float
    promote: bool = False
    """ASHA's promotion form: a stop is a pause, and paused jobs may continue later."""


def plan_early_stopping(
    spec: object,
    options: Mapping[str, Any] | None,
    *,
    job: TrainingJob,
    space: SearchSpace,
    objectives: Sequence[Objective],
) -> EarlyStoppingPlan:
    """Check an ``early_stopping=`` request against the study before any job is launched.

    Refuses an unknown rule or option, a metric that is not one of the job's
    metric definitions, and a grace period at or beyond the job's epochs
    when they are known (no job could ever be stopped). ``max_points``
    defaults to the epochs hyperparameter's largest value.
    """
    options = dict(options or {})
    study_options = {k: options.pop(k) for k in (*STUDY_OPTIONS, "read_interval") if k in options}
    metric = study_options.get("metric", objectives[0].metric)
    if metric not in job.metric_definitions:
        raise JobDefinitionError(
            "the early-stopping metric must be one of the job's metric definitions (its values "
            "in the log are the learning curve the rule reads)",
            f"metric={metric!r}, definitions {sorted(job.metric_definitions)}",
            "Set [early_stopping] metric to one of them, or add a definition for it.",
        )
    directions = {o.metric: o.maximize for o in objectives}
    if metric not in directions:
        raise UserError(
            "the early-stopping metric must be one of the study's objectives (the rule needs "
            "to know which way is better)",
            f"metric={metric!r}, objectives {sorted(directions)}",
            "Watch an objective's metric, or make this metric an objective.",
        )
    read_interval = study_options.get("read_interval", DEFAULT_READ_INTERVAL)
    if (
        isinstance(read_interval, bool)
        or not isinstance(read_interval, int | float)
        or not math.isfinite(read_interval)
        or read_interval < 0
    ):
        raise UserError(
            "early stopping's read_interval is a number of seconds >= 0",
            f"read_interval={read_interval!r}",
            "Use e.g. 60 (each running job's log is read at most once a minute).",
        )
    epochs = _epochs_range(job, space)
    if (
        isinstance(spec, str)
        and epochs is not None
        and "max_points" not in options
        and spec.strip().lower() in ("asha", "hyperband")
    ):
        options["max_points"] = epochs[2]
    rule = make_stopping_rule(spec, options)
    promote = getattr(rule, "promote", False) is True
    if promote and job.checkpoint_s3_uri is None:
        raise JobDefinitionError(
            "ASHA's promotion form (promote = true) continues a paused job from its checkpoint, "
            "so the job template needs checkpoint_s3_uri (and the script must save a checkpoint "
            "every epoch and resume from one)",
            "promote=True with checkpoint_s3_uri=None",
            "Set checkpoint_s3_uri, e.g. 's3://bucket/byohpo/checkpoints', or drop promote to "
            "stop jobs for good.",
        )
    grace = getattr(rule, "grace_period", None)
    if epochs is not None and isinstance(grace, int) and grace >= epochs[2]:
        name, low, high = epochs
        raise UserError(
            "early stopping's grace_period must be below the job's epochs (a job can only be "
            "stopped after its grace period, before its last epoch)",
            f"grace_period={grace} with {name} of at most {high}"
            + (f" (from {low})" if low != high else ""),
            f"Lower grace_period below {high}, or train more epochs.",
        )
    return EarlyStoppingPlan(
        rule=rule,
        name=rule_name(rule),
        options=dict(getattr(rule, "options", {}) or {}),
        metric=metric,
        maximize=directions[metric],
        read_interval=float(read_interval),
        promote=promote,
    )


@dataclass
class _Trial:
    config: int  # the id the rule knows the trial by: the first trial of its chain
    offset: int = 0  # points its chain reported before this trial's job started
    seen: int = 0  # points of the metric (of this trial's job) already shown to the rule
    last_read: float | None = None
    last: CurvePoint | None = None
    stopped: CurvePoint | None = None
    reason: str = ""


@dataclass
class EarlyStopping:
    """Runs a stopping rule over a study's running jobs. Not thread-safe; one per study loop."""

    plan: EarlyStoppingPlan
    backend: Backend
    store: Store
    clock: Clock
    progress: Progress
    _trials: dict[int, _Trial] = field(default_factory=dict)
    _chains: dict[int, tuple[int, int]] = field(default_factory=dict)  # tid -> config, offset
    _watched: set[int] = field(default_factory=set)
    _ended: int = 0
    _ended_blind: int = 0
    _said_blind: bool = False
    _curves: ReadsCurves = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.backend, ReadsCurves):  # refused before any job
            raise capability_error(
                self.backend,
                ReadsCurves,
                f"early stopping ({self.plan.name}) reads running jobs' learning curves",
                "Drop early_stopping",
            )
        self._curves = self.backend

    # -- the loop's hooks -------------------------------------------------------------------
    def check(
        self,
        in_flight: Mapping[int, str],
        trials: Mapping[int, TrialRecord],
        training: Collection[int],
    ) -> None:
        """Read the curves that are due, show new points to the rule, stop what it condemns.

        ``in_flight`` maps trial ids to job names of the jobs still running;
        ``training`` holds the trials whose jobs are past start-up (before
        that a job has logged nothing: reading would cost calls for no
        point). A trial that left ``in_flight`` since the last call gets one
        last read.
        """
        now = self.clock.now()
        for tid in sorted(self._watched - set(in_flight)):
            self._watched.discard(tid)
            name = trials[tid].job_name if tid in trials else None
            if name is not None:
                self._read(tid, name, now, judge=False)
            self._note_end(tid)
        for tid, job_name in in_flight.items():
            self._watched.add(tid)
            state = self._trial(tid)
            if state.stopped is not None or tid not in training:
                continue  # Stopping (nothing more to decide), or not training yet
            if state.last_read is not None and now - state.last_read < self.plan.read_interval:
                continue
            self._read(tid, job_name, now, judge=True)

    def partial_result(
        self, trial_id: int, metrics: Mapping[str, float]
    ) -> dict[str, float] | None:
        """What the strategy is told for a job the rule stopped: the values it reached, with
        the point in :data:`STOPPED_AT_POINT`; None for any other trial."""
        state = self._trials.get(trial_id)
        if state is None or state.stopped is None:
            return None
        told = {k: float(v) for k, v in metrics.items() if math.isfinite(float(v))}
        last = state.last or state.stopped
        told.setdefault(self.plan.metric, last.value)
        told[STOPPED_AT_POINT] = float(last.point)
        return told

    def adopt(
        self,
        events: Iterable[Mapping[str, Any]],
        trials: Mapping[int, TrialRecord] | None = None,
    ) -> None:
        """Rebuild the rule's state from a resumed study's stored curves, stops and (in the
        promotion form) promotions: each promotion is replayed just before its job's first
        points, as it happened."""
        pending = {
            tid: record.extra[PROMOTED]
            for tid, record in sorted((trials or {}).items())
            if isinstance(record.extra.get(PROMOTED), Mapping)
        }
        for event in events:
            kind = event.get("event")
            tid = event.get("trial_id")
            if not isinstance(tid, int):
                continue
            for promoted in [t for t in pending if t <= tid]:
                self._replay_promotion(promoted, pending.pop(promoted))
            state = self._trial(tid)
            if kind == "curve" and event.get("metric") == self.plan.metric:
                for point, seconds, value in event.get("points", []):
                    p = CurvePoint(
                        state.config, int(point), float(value), float(seconds), self.plan.maximize
                    )
                    self.plan.rule.decide(p)
                    state.seen, state.last = int(point) - state.offset, p
            elif kind == "early_stop":
                state.stopped = CurvePoint(
                    state.config,
                    int(event["point"]),
                    float(event["value"]),
                    maximize=self.plan.maximize,
                )
                state.reason = str(event.get("reason", ""))
        for promoted, detail in pending.items():
            self._replay_promotion(promoted, detail)

    # -- promotion (ASHA's promotion form) --------------------------------------------------
    def _trial(self, tid: int) -> _Trial:
        state = self._trials.get(tid)
        if state is None:
            config, offset = self._chains.get(tid, (tid, 0))
            state = self._trials[tid] = _Trial(config, offset)
        return state

    def _replay_promotion(self, tid: int, detail: Mapping[str, Any]) -> None:
        config, rung, offset = int(detail["config"]), int(detail["rung"]), int(detail["offset"])
        self._chains[tid] = (config, offset)
        self._trials.pop(tid, None)
        if detail.get("finishing"):
            self.finish()
        promote = getattr(self.plan.rule, "promote_config", None)
        if callable(promote):
            promote(config, rung)

    def finish(self) -> None:
        """No new configuration will start: the rule lets each rung's best go on."""
        finish = getattr(self.plan.rule, "finish", None)
        if callable(finish):
            finish()

    def paused(self, tid: int) -> bool:
        """Whether the rule paused this trial's job (a promotion may continue it)."""
        state = self._trials.get(tid)
        return self.plan.promote and state is not None and state.stopped is not None

    def config_of(self, tid: int) -> int:
        """The first trial of ``tid``'s chain (the configuration the strategy proposed)."""
        return self._chains.get(tid, (tid, 0))[0]

    def promotions(
        self, latest: Mapping[int, int], trials: Mapping[int, TrialRecord]
    ) -> list[tuple[int, Promotion, dict[str, int]]]:
        """The paused jobs the rule would continue now, best first: ``(trial id, promotion,
        what to record in the new trial)``. ``latest`` maps a configuration to the last trial
        of its chain; a job still Stopping is not offered (its checkpoint is not final)."""
        promotable = getattr(self.plan.rule, "promotable", None)
        if not self.plan.promote or not callable(promotable):
            return []
        offers = []
        for promotion in promotable():
            tid = latest.get(promotion.config_id)
            record = trials.get(tid) if tid is not None else None
            if record is None or not record.has_result or not self.paused(record.trial_id):
                continue
            state = self._trials[record.trial_id]
            detail = {
                "config": promotion.config_id,
                "rung": promotion.rung,
                "offset": state.offset + state.seen,
                "from_trial": record.trial_id,
            }
            offers.append((record.trial_id, promotion, detail))
        return offers

    def promoted(self, tid: int, detail: Mapping[str, Any]) -> None:
        """A promotion was recorded as trial ``tid`` (before its job is created)."""
        self._replay_promotion(tid, detail)

    # -- reading and deciding ---------------------------------------------------------------
    def _read(self, tid: int, job_name: str, now: float, *, judge: bool) -> None:
        state = self._trial(tid)
        state.last_read = now
        curve = list(self._curves.read_curves(job_name).get(self.plan.metric, []))
        fresh = curve[state.seen :]
        if not fresh:
            return
        points = [
            CurvePoint(
                state.config,
                state.offset + state.seen + i + 1,
                float(v),
                float(s),
                self.plan.maximize,
            )
            for i, (s, v) in enumerate(fresh)
            if math.isfinite(float(v))
        ]
        self.store.record(
            CurveRead(
                tid,
                self.plan.metric,
                tuple((p.point, round(p.seconds, 3), p.value) for p in points),
                time=now,
            )
        )
        state.seen += len(fresh)
        for point in points:
            state.last = point
            decision = as_decision(self.plan.rule.decide(point), self.plan.rule)
            if decision.stop and judge and state.stopped is None:
                self._stop(tid, job_name, point, decision.reason)
                judge = False  # later points still reach the rule, to keep its state whole

    def _stop(self, tid: int, job_name: str, point: CurvePoint, reason: str) -> None:
        state = self._trials[tid]
        state.stopped, state.reason = point, reason or f"{self.plan.name} said stop"
        self.store.record(
            EarlyStopped(
                tid,
                job_name,
                self.plan.name,
                self.plan.metric,
                point.point,
                point.value,
                point.seconds,
                state.reason,
                time=self.clock.now(),
            )
        )
        self.progress.say(
            f"trial {tid}: {self.plan.name} stops {job_name} at point {point.point} "
            f"({self.plan.metric}={point.value:.6g}): {state.reason}"
        )
        self.backend.stop(job_name)

    def _note_end(self, tid: int) -> None:
        self._ended += 1
        if self._trial(tid).seen == 0 and self._trial(tid).offset == 0:
            self._ended_blind += 1
        if self._said_blind or self._ended < BLIND_AFTER or self._ended_blind < self._ended:
            return
        self._said_blind = True
        message = (
            f"the first {self._ended} jobs ended without printing one intermediate value of "
            f"{self.plan.metric!r}, so early stopping cannot judge them: jobs run to the end. "
            "Make the script print the metric after every epoch, matching its metric definition."
        )
        self.store.record(EarlyStoppingBlind(message, time=self.clock.now()))
        self.progress.say(message)
