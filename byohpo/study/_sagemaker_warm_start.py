"""SageMaker's own warm start, for the ``sagemaker:`` strategies: parent tuning jobs.

SageMaker's tuner starts from earlier **tuning jobs** (its ``WarmStartConfig``:
at most five ``ParentHyperParameterTuningJobs`` and a ``WarmStartType``), never
from trials told to it. So a ``sagemaker:`` study's ``warm_start`` names tuning
jobs, and each source becomes a parent:

- ``{"tuning_job": NAME}``: that tuning job;
- a bare name: the tuning job of that name, else the tuning job a byohpo study of
  that name ran (a ``sagemaker:`` study; the SDK drop-in's tuning jobs are studies);
- ``{"study": ...}``, a directory or an ``s3://`` store: the tuning job that study
  ran. A study of byohpo's own strategies ran none, and is refused.

Every parent is checked as SageMaker checks it, before anything is recorded: it
exists, it has ended (Completed, Stopped or Failed), it optimized the same
objective metric, and it had as many hyperparameters (static plus tuned) as this
study. The ``WarmStartType`` is the strategy's ``warm_start_type`` option if
given; else ``IdenticalDataAndAlgorithm`` when every parent ran the same
training image on the same input data as this study, and ``TransferLearning``
otherwise (the type SageMaker allows for changed data or image).

The choice is recorded as the study's ``warm_start`` event before the tuning job
is, and a resumed study takes its parents from that record, never again from
the sources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from byohpo.errors import BackendError, StrategyError, UserError
from byohpo.objectives import Objective
from byohpo.strategies._sagemaker_tuner import (
    MAX_PARENT_TUNING_JOBS,
    WARM_START_TYPES,
    SageMakerTuner,
)
from byohpo.study._events import WarmStarted
from byohpo.study._sagemaker_tuning import parameter_ranges, recorded_tuning_job, tuning_job_name
from byohpo.study._store import Store, study_location
from byohpo.study._warm_start import SourceKind, WarmStartSource

if TYPE_CHECKING:
    from byohpo.backends._base import Backend
    from byohpo.space import SearchSpace
    from byohpo.strategies._base import Strategy

ENDED = ("Completed", "Stopped", "Failed")
"""The states in which SageMaker takes a tuning job as a parent."""


@dataclass(frozen=True)
class ParentTuningJob:
    """One parent: the source as the user named it, and the tuning job it stands for."""

    source: WarmStartSource
    name: str
    status: str
    completed: int
    description: Mapping[str, Any]

    def to_json(self, warm_start_type: str) -> dict[str, Any]:
        return {
            "source": self.source.name,
            "kind": str(self.source.kind or SourceKind.TUNING_JOB),
            "tuning_job": self.name,
            "status": self.status,
            "completed": self.completed,
            "warm_start_type": warm_start_type,
        }


def _describe(backend: Backend, name: str) -> Mapping[str, Any] | None:
    request = getattr(backend, "request", None)
    if not callable(request):
        raise UserError(
            "SageMaker's own tuner warm-starts on SageMaker or its fake",
            f"backend {type(backend).__name__}",
            "Use byohpo.SageMakerBackend() or byohpo.FakeSageMaker().",
        )
    try:
        answer: Mapping[str, Any] = request(
            "DescribeHyperParameterTuningJob", HyperParameterTuningJobName=name
        )
    except BackendError as exc:
        text = str(exc)
        if "ResourceNotFound" in text or "can't find" in text or "ValidationE" in text:
            return None
        raise
    return answer


def _study_tuning_job(source: WarmStartSource) -> tuple[bool, str | None]:
    """Whether ``source`` is a byohpo study, and the tuning job it ran (if any)."""
    location = study_location(source.name)
    if not location.startswith("s3://") and not os.path.exists(location):
        return False, None
    store = Store(location)
    if not store.exists():
        return False, None
    log = store.load()
    return bool(log.study), recorded_tuning_job(log)


def _not_a_parent(source: WarmStartSource, is_study: bool) -> UserError:
    if is_study:
        return UserError(
            "SageMaker's tuner warm-starts from tuning jobs only (at most "
            f"{MAX_PARENT_TUNING_JOBS}, ended); a byohpo study is one only if it ran a "
            "'sagemaker:' strategy",
            f"study {source.name!r}, whose strategy ran no tuning job",
            "Warm start a byohpo strategy (e.g. 'bo') from that study, or name tuning jobs: "
            'warm_start=[{"tuning_job": "my-tuning-job"}].',
        )
    if source.kind is SourceKind.STUDY:
        got = f"{source.name!r}: no study at {study_location(source.name)}"
    else:
        got = f"{source.name!r}: no tuning job of that name" + (
            "" if source.kind is SourceKind.TUNING_JOB else ", and no study"
        )
    return UserError(
        "a parent of SageMaker's warm start must be a tuning job that exists",
        got,
        "Check the name (aws sagemaker list-hyper-parameter-tuning-jobs, or byohpo list for "
        "the studies that ran one), in this account and region.",
    )


def _resolve(source: WarmStartSource, backend: Backend) -> ParentTuningJob:
    address = source.name.startswith("s3://") or os.sep in source.name
    name: str | None = None
    description = None
    if source.kind in (None, SourceKind.TUNING_JOB) and not address:
        description = _describe(backend, source.name)
        name = source.name if description is not None else None
    is_study = False
    if description is None and source.kind is not SourceKind.TUNING_JOB:
        is_study, name = _study_tuning_job(source)
        if name is not None:
            description = _describe(backend, name)
            source = WarmStartSource(source.name, SourceKind.STUDY)
    if description is None or name is None:
        raise _not_a_parent(source, is_study and name is None)
    counters = dict(description.get("TrainingJobStatusCounters") or {})
    return ParentTuningJob(
        source,
        str(description.get("HyperParameterTuningJobName") or name),
        str(description.get("HyperParameterTuningJobStatus")),
        int(counters.get("Completed", 0)),
        description,
    )


def _sagemaker_tuner(strategy: Strategy) -> SageMakerTuner:
    if not isinstance(strategy, SageMakerTuner):
        raise StrategyError(
            "parent tuning jobs are a warm start of SageMaker's own tuner",
            type(strategy).__name__,
            "Use strategy='sagemaker:bayesian' (or random, hyperband, grid).",
        )
    return strategy


def _hyperparameters(ranges: Mapping[str, Any], static: Mapping[str, Any]) -> set[str]:
    tuned = {str(r["Name"]) for kind in ranges.values() for r in kind}
    return tuned | {str(k) for k in static}


def _check(parent: ParentTuningJob, objective: Objective, own: set[str], own_job: str) -> None:
    if parent.name.lower() == own_job.lower():
        raise UserError(
            "a tuning job cannot be its own parent",
            f"{parent.source.name!r} is this study's tuning job {own_job}",
            "Name an earlier study's tuning job.",
        )
    if parent.status not in ENDED:
        raise UserError(
            "SageMaker starts from parent tuning jobs that have ended (" + ", ".join(ENDED) + ")",
            f"tuning job {parent.name} is {parent.status}",
            f"Wait for it to end, or stop it (aws sagemaker stop-hyper-parameter-tuning-job "
            f"--hyper-parameter-tuning-job-name {parent.name}), then run this study.",
        )
    config = parent.description.get("HyperParameterTuningJobConfig") or {}
    metric = (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName")
    if metric != objective.metric:
        raise UserError(
            "SageMaker's warm start needs the parents' objective metric",
            f"tuning job {parent.name} optimized {metric!r}, this study {objective.metric!r}",
            f"Optimize {metric!r}, or warm start a byohpo strategy (e.g. 'bo') from it.",
        )
    definition = parent.description.get("TrainingJobDefinition") or {}
    theirs = _hyperparameters(
        config.get("ParameterRanges") or {}, definition.get("StaticHyperParameters") or {}
    )
    if len(theirs) != len(own):
        raise UserError(
            "SageMaker's warm start keeps the number of hyperparameters (static plus tuned) "
            "of its parents",
            f"tuning job {parent.name} has {len(theirs)}, this study {len(own)} "
            f"(only in the parent: {sorted(theirs - own)}; only here: {sorted(own - theirs)})",
            "Fix a dropped hyperparameter (Static, or in the job's hyperparameters) rather than "
            "removing it, or warm start a byohpo strategy (e.g. 'bo'), which fits earlier "
            "trials into a changed space.",
        )


def _data_and_algorithm(definition: Mapping[str, Any]) -> tuple[Any, ...]:
    """What IdenticalDataAndAlgorithm promises is unchanged: the image and the input data."""
    algorithm = definition.get("AlgorithmSpecification") or {}
    channels = sorted(
        (
            str(c.get("ChannelName")),
            str(((c.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")),
        )
        for c in definition.get("InputDataConfig") or []
    )
    return algorithm.get("TrainingImage") or algorithm.get("AlgorithmName"), tuple(channels)


@dataclass(frozen=True)
class ParentTuningJobs:
    """The parents a ``sagemaker:`` study's tuning job starts from, and the warm-start type."""

    parents: tuple[ParentTuningJob, ...]
    warm_start_type: str
    """SageMaker's ``WarmStartType`` (``"TransferLearning"``, ...)."""

    @classmethod
    def load(
        cls,
        sources: Sequence[WarmStartSource],
        strategy: Strategy,
        objectives: Sequence[Objective],
        space: SearchSpace,
        study_name: str,
        backend: Backend,
    ) -> ParentTuningJobs:
        """Resolve and check every source (see the module's docstring); raises
        :class:`~byohpo.errors.UserError` before anything is recorded."""
        strategy = _sagemaker_tuner(strategy)
        definition_of = getattr(backend, "training_job_definition", None)
        own_definition: Mapping[str, Any] = definition_of() if callable(definition_of) else {}
        own = _hyperparameters(
            parameter_ranges(space),
            {
                **space.static_hyperparameters(),
                **(own_definition.get("StaticHyperParameters") or {}),
            },
        )
        found: dict[str, ParentTuningJob] = {}
        for source in sources:
            parent = _resolve(source, backend)
            _check(parent, objectives[0], own, tuning_job_name(study_name))
            found.setdefault(parent.name, parent)
        parents = tuple(found.values())
        if len(parents) > MAX_PARENT_TUNING_JOBS:
            raise UserError(
                f"SageMaker's tuner starts from at most {MAX_PARENT_TUNING_JOBS} parent tuning "
                "jobs",
                f"{len(parents)}: {', '.join(p.name for p in parents)}",
                f"Keep the {MAX_PARENT_TUNING_JOBS} parents closest to this study.",
            )
        if strategy.warm_start_type is not None:
            chosen = WARM_START_TYPES[strategy.warm_start_type]
        else:
            mine = _data_and_algorithm(own_definition)
            same = all(
                _data_and_algorithm(p.description.get("TrainingJobDefinition") or {}) == mine
                for p in parents
            )
            chosen = WARM_START_TYPES[
                "identical_data_and_algorithm" if same else "transfer_learning"
            ]
        return cls(parents, chosen)

    def tell(self, strategy: Strategy) -> None:
        """Give the strategy its parents (its tuning job is created with them)."""
        tuner = _sagemaker_tuner(strategy)
        tuner.start_from_parents([p.name for p in self.parents], self.warm_start_type)

    def event(self, time: float) -> WarmStarted:
        return WarmStarted(
            tuple(p.to_json(self.warm_start_type) for p in self.parents), (), 0, time=time
        )
