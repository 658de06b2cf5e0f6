"""Warm start: earlier studies' and SageMaker tuning jobs' completed trials, told to a new
study's strategy before its first ask, never paid for again.

A source is an earlier byohpo study (its name, directory or ``s3://`` store) or a
SageMaker HyperParameterTuningJob (by name). Sources need not share the new study's
space: parameters the new space dropped are ignored, a new parameter with a single
value (``Static``, a one-value ``Categorical``) takes that value, and a trial is
left out when a value lies outside its new range or a new parameter with several
values has none. Unlike SageMaker's own warm start, names need not be identical and
there is no limit of five parents. (A ``sagemaker:`` strategy takes SageMaker's own warm
start instead: parent tuning jobs, see :mod:`byohpo.study._sagemaker_warm_start`.)

The whole warm start is one ``warm_start`` event, written after the strategy was
told and before the study's first checkpoint, so a resumed study restores the
warm-started strategy and never tells it twice.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from byohpo.errors import BackendError, StrategyError, UserError
from byohpo.objectives import Objective, objective_values
from byohpo.parameters import format_value
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace, Static
from byohpo.strategies._base import PriorTrial
from byohpo.strategies._sagemaker_tuner import MAX_PARENT_TUNING_JOBS
from byohpo.study._events import WarmStarted
from byohpo.study._store import Store, StudyLog, study_location
from byohpo.trial import TrialStatus

if TYPE_CHECKING:
    from byohpo.backends._base import Backend
    from byohpo.strategies._base import Strategy


class SourceKind(StrEnum):
    """What a warm-start source is."""

    STUDY = "study"
    TUNING_JOB = "tuning_job"


@dataclass(frozen=True)
class WarmStartSource:
    """One source of earlier trials. ``kind=None``: a name, looked up first as a byohpo
    study, then as a SageMaker tuning job."""

    name: str
    kind: SourceKind | None = None

    def describe(self) -> str:
        if self.kind is SourceKind.TUNING_JOB:
            return f"SageMaker tuning job {self.name}"
        return f"study {self.name}"

    def to_json(self) -> dict[str, str]:
        return {str(self.kind or "name"): self.name}


def warm_start_sources(value: object, strategy: object = None) -> tuple[WarmStartSource, ...]:
    """The sources of ``Tuner(warm_start=...)``: a name, ``{"study": ...}``,
    ``{"tuning_job": ...}``, a :class:`WarmStartSource`, or a list of them (checked
    against the study's ``strategy``)."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return ()
    items = [value] if isinstance(value, str | Mapping | WarmStartSource) else value
    if not isinstance(items, Sequence) or isinstance(items, bytes):
        raise _bad_source(value)
    sources = []
    for item in items:
        if isinstance(item, WarmStartSource):
            sources.append(item)
        elif isinstance(item, str) and item.strip():
            sources.append(WarmStartSource(item.strip()))
        elif isinstance(item, Mapping) and len(item) == 1:
            ((key, name),) = item.items()
            kind = SourceKind(key) if key in SourceKind.__members__.values() else None
            if (kind is None and key != "name") or not isinstance(name, str) or not name.strip():
                raise _bad_source(item)
            sources.append(WarmStartSource(name.strip(), kind))
        else:
            raise _bad_source(item)
    unique = tuple(dict.fromkeys(sources))  # a source given twice is used once
    if getattr(strategy, "runs_on_sagemaker", False) and len(unique) > MAX_PARENT_TUNING_JOBS:
        raise UserError(
            f"SageMaker's tuner warm-starts from at most {MAX_PARENT_TUNING_JOBS} parent tuning "
            "jobs (its WarmStartConfig)",
            f"{len(unique)} sources with strategy={getattr(strategy, 'name', '')!r}",
            f"Keep the {MAX_PARENT_TUNING_JOBS} tuning jobs closest to this study, or warm start "
            "a byohpo strategy (e.g. 'bo'), which takes any number of sources.",
        )
    return unique


def _bad_source(value: object) -> UserError:
    return UserError(
        "warm_start takes earlier studies (a name, directory or s3:// store) or SageMaker "
        "tuning jobs, one or a list",
        repr(value),
        'Write e.g. warm_start=["digits-ga", {"tuning_job": "my-tuning-job"}].',
    )


# -- fitting an earlier trial into the new space ------------------------------------------
_NO_VALUE = object()


def _single_value(param: Any) -> Any:
    """The one value a parameter can take, or ``_NO_VALUE``."""
    if isinstance(param, Static):
        return param.value
    if isinstance(param, Categorical) and len(param.values) == 1:
        return param.values[0]
    if isinstance(param, Integer) and param.min == param.max:
        return param.min
    return _NO_VALUE


def _in_range(param: Any, value: Any) -> Any:
    """``value`` as a value of ``param``, or ``_NO_VALUE`` when it lies outside it."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return _NO_VALUE
    text = format_value(value) if not isinstance(value, str) else value
    if isinstance(param, Static | Categorical):
        choices = [param.value] if isinstance(param, Static) else list(param.values)
        return next((v for v in choices if format_value(v) == text), _NO_VALUE)
    try:
        number = float(text)
    except ValueError:
        return _NO_VALUE
    if isinstance(param, Integer):
        if not number.is_integer():
            return _NO_VALUE
        number = int(number)
    if isinstance(param, Continuous | Integer) and param.contains(number):
        return number
    return _NO_VALUE


def fit_to_space(values: Mapping[str, Any], space: SearchSpace) -> Config | str:
    """An earlier trial's values as a configuration of ``space``, or why it is left out."""
    config: Config = {}
    for name, param in space.items():
        if name not in values:
            value = _single_value(param)
            if value is _NO_VALUE:
                return f"no value for the new parameter {name}"
        else:
            value = _in_range(param, values[name])
            if value is _NO_VALUE:
                return f"{name} outside its range in this study"
        config[name] = value
    return config


# -- reading the sources ----------------------------------------------------------------
@dataclass(frozen=True)
class _Found:
    """What a source holds: its parameter names and its completed trials' values and metrics."""

    source: WarmStartSource
    names: frozenset[str]
    trials: list[tuple[Mapping[str, Any], Mapping[str, float]]]
    jobs: list[str] = field(default_factory=list)
    """The training job of each trial (tuning jobs only)."""


def _study(source: WarmStartSource) -> _Found | None:
    location = study_location(source.name)
    if not location.startswith("s3://") and not os.path.exists(location):
        return None
    store = Store(location)
    if not store.exists():
        return None
    log = store.load()
    if not log.study:
        return None
    names = frozenset(log.study.get("space") or log.study.get("parameter_names") or ())
    trials: list[tuple[Mapping[str, Any], Mapping[str, float]]] = [
        (t.config, t.metrics)
        for _, t in sorted(log.trials.items())
        if t.has_result and t.status is TrialStatus.COMPLETED and t.duplicate_of is None
    ]
    return _Found(WarmStartSource(source.name, SourceKind.STUDY), names, trials)


def _tuning_job(source: WarmStartSource, backend: Backend) -> _Found | None:
    request = getattr(backend, "request", None)
    if not callable(request) and source.kind is None:
        return None  # not a study, and tuning jobs cannot be looked up here
    if not callable(request):
        raise UserError(
            "a warm start from a SageMaker tuning job reads it from SageMaker",
            f"{source.describe()} with backend {type(backend).__name__}",
            "Use byohpo.SageMakerBackend() or byohpo.FakeSageMaker(), or warm start from "
            "studies only.",
        )
    try:
        description = request(
            "DescribeHyperParameterTuningJob", HyperParameterTuningJobName=source.name
        )
    except BackendError as exc:
        if "ResourceNotFound" in str(exc) or "can't find" in str(exc) or "ValidationE" in str(exc):
            return None
        raise
    config = description.get("HyperParameterTuningJobConfig") or {}
    static = dict(
        (description.get("TrainingJobDefinition") or {}).get("StaticHyperParameters") or {}
    )
    tuned = {r["Name"] for kind in (config.get("ParameterRanges") or {}).values() for r in kind}
    summaries: list[Mapping[str, Any]] = []
    params: dict[str, Any] = {
        "HyperParameterTuningJobName": source.name,
        "StatusEquals": "Completed",
        "MaxResults": 100,
    }
    while True:
        page = request("ListTrainingJobsForHyperParameterTuningJob", **params)
        summaries.extend(page.get("TrainingJobSummaries") or [])
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    found = _Found(
        WarmStartSource(source.name, SourceKind.TUNING_JOB), frozenset(tuned | set(static)), []
    )
    for summary in sorted(summaries, key=lambda s: str(s.get("CreationTime", ""))):
        final = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        metrics = {str(final["MetricName"]): float(final["Value"])} if final else {}
        values = {**static, **dict(summary.get("TunedHyperParameters") or {})}
        found.trials.append((values, metrics))
        found.jobs.append(str(summary["TrainingJobName"]))
    return found


def _all_metrics(found: _Found, objectives: Sequence[Objective], backend: Backend) -> None:
    """A tuning job's summaries carry its objective only; read the others from each job."""
    jobs = found.jobs
    request = getattr(backend, "request", None)
    if not callable(request):
        return
    for index, (values, metrics) in enumerate(found.trials):
        if all(o.metric in metrics for o in objectives) or index >= len(jobs):
            continue
        answer = request("DescribeTrainingJob", TrainingJobName=jobs[index])
        more = {
            str(m["MetricName"]): float(m["Value"]) for m in answer.get("FinalMetricDataList") or []
        }
        found.trials[index] = (values, {**more, **metrics})


def _find(source: WarmStartSource, backend: Backend) -> _Found:
    found = None
    if source.kind in (None, SourceKind.STUDY):
        found = _study(source)
    address = source.name.startswith("s3://") or os.sep in source.name  # never a job's name
    if found is None and source.kind in (None, SourceKind.TUNING_JOB) and not address:
        found = _tuning_job(source, backend)
    if found is None:
        what = {
            None: "an earlier study or a SageMaker tuning job",
            SourceKind.STUDY: "an earlier study",
            SourceKind.TUNING_JOB: "a SageMaker tuning job",
        }[source.kind]
        raise UserError(
            f"a warm-start source must be {what} that exists",
            f"{source.name!r}: no study log at {study_location(source.name)}"
            + ("" if source.kind is SourceKind.STUDY else ", and no tuning job of that name"),
            "Check the name (byohpo list shows the studies), or give the study's directory "
            "or s3:// store.",
        )
    return found


# -- the warm start -----------------------------------------------------------------------
@dataclass(frozen=True)
class SourceCount:
    """How one source's completed trials fared: used, or left out and why."""

    source: str
    kind: str
    completed: int
    used: int
    left_out: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "completed": self.completed,
            "used": self.used,
            "left_out": dict(self.left_out),
        }


@dataclass(frozen=True)
class WarmStart:
    """The earlier trials a study starts from, and how many each source gave."""

    trials: tuple[PriorTrial, ...]
    counts: tuple[SourceCount, ...]

    @classmethod
    def load(
        cls,
        sources: Sequence[WarmStartSource],
        space: SearchSpace,
        objectives: Sequence[Objective],
        backend: Backend,
    ) -> WarmStart:
        """Read every source and fit its completed trials into ``space``; raises
        :class:`~byohpo.errors.UserError` for a source that does not exist or shares no
        parameter with the space (before any job)."""
        trials: list[PriorTrial] = []
        counts = []
        tuned = set(space.tunable_names) or set(space)
        for source in sources:
            found = _find(source, backend)
            if not found.names & tuned:
                raise UserError(
                    "a warm-start source must share a tuned parameter with the study's space",
                    f"{found.source.describe()} has {sorted(found.names)}, the space tunes "
                    f"{sorted(tuned)}",
                    "Warm start from a study of the same problem, or drop this source.",
                )
            if found.source.kind is SourceKind.TUNING_JOB:
                _all_metrics(found, objectives, backend)
            left_out: Counter[str] = Counter()
            used = 0
            for values, metrics in found.trials:
                config = fit_to_space(values, space)
                if isinstance(config, str):
                    left_out[config] += 1
                elif objective_values(tuple(objectives), metrics) is None:
                    left_out["no value of the objective"] += 1
                else:
                    trials.append(PriorTrial(config, dict(metrics)))
                    used += 1
            counts.append(
                SourceCount(
                    found.source.name, str(found.source.kind), len(found.trials), used, left_out
                )
            )
        return cls(tuple(trials), tuple(counts))

    def tell(self, strategy: Strategy) -> int:
        """Hand the trials to the strategy (once, before its first ask); how many it used."""
        hook = getattr(strategy, "warm_start", None)
        if not callable(hook):
            raise StrategyError(
                "a warm start needs a strategy that can take earlier results",
                type(strategy).__name__,
                "Use a byohpo strategy, or drop warm_start.",
            )
        return int(hook(self.trials)) if self.trials else 0

    def event(self, used: int, time: float) -> WarmStarted:
        return WarmStarted(
            tuple(c.to_json() for c in self.counts),
            tuple((dict(t.config), dict(t.metrics)) for t in self.trials),
            used,
            time=time,
        )


def recorded_warm_start(log: StudyLog) -> WarmStarted | None:
    """The study's warm start, as recorded (None: it had none)."""
    from byohpo.study._events import decode

    for data in log.events:
        if data.get("event") == "warm_start":
            event = decode(data)
            return event if isinstance(event, WarmStarted) else None
    return None


def tell_again(log: StudyLog, strategy: Strategy) -> None:
    """On resume of a study whose strategy has no checkpoint (one of your own without
    ``snapshot``), tell its warm start again: the strategy is rebuilt from the start."""
    if log.snapshot is not None:
        return  # the checkpoint holds the warm-started strategy
    event = recorded_warm_start(log)
    if event is not None and event.trials:
        strategy.warm_start([PriorTrial(dict(c), dict(m)) for c, m in event.trials])


def parents_again(log: StudyLog, strategy: Strategy) -> None:
    """On resume of a ``sagemaker:`` study, the parent tuning jobs its warm start recorded
    (never looked up again: the study goes on as it started)."""
    event = recorded_warm_start(log)
    start = getattr(strategy, "start_from_parents", None)
    parents = [s for s in (event.sources if event else ()) if s.get("warm_start_type")]
    if parents and callable(start):
        start([str(s["tuning_job"]) for s in parents], str(parents[0]["warm_start_type"]))


def describe(event: WarmStarted) -> list[str]:
    """Lines for ``byohpo status`` and the progress: how many trials each source gave."""
    lines = []
    for source in event.sources:
        if source.get("warm_start_type"):  # a parent of SageMaker's own warm start
            via = "" if source.get("kind") != SourceKind.STUDY else f" (study {source['source']})"
            lines.append(
                f"SageMaker's tuner starts from tuning job {source.get('tuning_job')}{via}: "
                f"{source.get('status')}, {source.get('completed')} completed training jobs, "
                f"{source.get('warm_start_type')}"
            )
            continue
        kind = "tuning job" if source.get("kind") == SourceKind.TUNING_JOB else "study"
        line = (
            f"warm start from {kind} {source.get('source')}: {source.get('used')} of "
            f"{source.get('completed')} completed trials used"
        )
        left = dict(source.get("left_out") or {})
        if left:
            line += " (left out: " + "; ".join(f"{n} {why}" for why, n in left.items()) + ")"
        lines.append(line)
    told = len(event.trials)
    if told and event.used < told:
        lines.append(f"the strategy took {event.used} of those {told} trials")
    return lines
