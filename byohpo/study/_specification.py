"""A study's specification: everything that defines a study, checked once, frozen.

Two places make one. :meth:`StudySpecification.from_arguments` turns the
Tuner's keyword arguments (also a study file's, through the Tuner) into a
checked specification, refusing any mistake before a job is launched;
:meth:`StudySpecification.from_definition` turns the definition recorded in a
study's store back into the same specification, to resume it. The recorded
definition itself is written by :meth:`StudySpecification.definition`, so the
two directions live side by side.

What the specification holds, by concern:

- the study: its ``name``, the ``job`` template and the ``space`` searched;
- the ``objectives`` (metric and direction, one or several);
- the search: the ``strategy`` (built and set up), its ``strategy_options``
  and ``seed``, and the ``mode`` (generational or asynchronous);
- the ``budget``: jobs, parallel jobs, seconds, dollars, and retries of failed
  jobs (the failure policy);
- the costs: ``prices`` per instance type, if the user gave any;
- the pacing: a fixed ``poll_interval``, if the user asked for one;
- ``early_stopping``: the checked plan of the stopping rule, if any;
- ``warm_start``: the earlier studies or tuning jobs the strategy is told of.

What belongs to one run of the study (the backend, the store, the clock, the
progress stream, the answer to Ctrl-C) is not here: the Tuner holds it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from byohpo._redaction import redact_job, restore_job
from byohpo.errors import JobDefinitionError, UserError
from byohpo.objectives import Objective, check_objectives_are_metrics, make_objectives
from byohpo.space import SearchSpace
from byohpo.stopping import RULES
from byohpo.study import _warm_start as warm
from byohpo.study._accounting import Budget
from byohpo.study._early_stopping import EarlyStoppingPlan, plan_early_stopping
from byohpo.study._events import FORMAT_VERSION
from byohpo.trial import Mode

if TYPE_CHECKING:
    from byohpo.job import TrainingJob
    from byohpo.strategies._base import Strategy

MODES = tuple(m.value for m in Mode)
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
STUDY_FORMAT = FORMAT_VERSION


def _check_count(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{name} must be a whole number >= {minimum}", repr(value), f"Set {name}.")
    return value


def _check_seconds(name: str, value: object) -> float | None:
    """``value`` as a positive number of seconds (or dollars), or None when left out."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise UserError(
            f"{name} must be a positive number", repr(value), f"Set {name}, or leave it out."
        )
    return float(value)


def _check_budget(
    max_jobs: object,
    max_parallel_jobs: object,
    max_runtime: object,
    max_cost: object,
    max_retries: object,
) -> Budget:
    jobs = _check_count("max_jobs", max_jobs)
    parallel = _check_count("max_parallel_jobs", max_parallel_jobs)
    if parallel > jobs:
        raise UserError(
            "max_parallel_jobs <= max_jobs must hold",
            f"(max_parallel_jobs={max_parallel_jobs}, max_jobs={max_jobs})",
            "Lower max_parallel_jobs or raise max_jobs.",
        )
    return Budget(
        jobs,
        parallel,
        _check_seconds("max_runtime", max_runtime),
        _check_seconds("max_cost", max_cost),
        _check_count("max_retries", max_retries, minimum=0),
    )


def _check_mode(mode: object) -> Mode:
    if mode not in MODES:
        raise UserError(f"mode must be one of {MODES}", repr(mode), "Pick one of them.")
    return Mode(mode)


def _check_name(name: str | None) -> str:
    if name is None:
        name = datetime.now(UTC).strftime("study-%Y%m%d-%H%M%S")
    if not isinstance(name, str) or not STUDY_NAME.match(name):
        raise UserError(
            "a study name is 1 to 100 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit",
            repr(name),
            "Rename the study (it names its jobs and its store).",
        )
    return name


def _make_strategy(
    strategy: object,
    options: Mapping[str, Any],
    job: TrainingJob,
    space: SearchSpace,
    objectives: tuple[Objective, ...],
    budget: Budget,
    mode: Mode,
    seed: int | None,
) -> Strategy:
    """The strategy, built, set up for the study and checked against it."""
    from byohpo.strategies import AutoStrategy, make_strategy

    built: Strategy = make_strategy(strategy, **dict(options))
    if isinstance(built, AutoStrategy) and built.max_jobs is None:
        built.max_jobs = budget.max_jobs  # auto chooses for the study's budget
    built.setup(space, objectives, seed)
    built.set_mode(mode)
    if built.warm_starts and job.checkpoint_s3_uri is None:
        raise JobDefinitionError(
            f"the {built.name!r} strategy starts each job from a parent job's "
            "checkpoint, so every job must keep its checkpoints in S3: the job needs "
            "checkpoint_s3_uri",
            "TrainingJob(checkpoint_s3_uri=None)",
            "Set checkpoint_s3_uri, e.g. 's3://my-bucket/byohpo/checkpoints' (each job "
            "checkpoints under <checkpoint_s3_uri>/<job name>).",
        )
    if getattr(built, "runs_on_sagemaker", False):
        from byohpo.strategies._sagemaker_tuner import check_tuning_limits

        check_tuning_limits(
            built,  # type: ignore[arg-type]
            objectives,
            budget.max_jobs,
            budget.max_parallel_jobs,
            list(job.metric_definitions),
        )
    if mode is Mode.ASYNC and not built.supports_async:
        raise UserError(
            "mode='async' needs a strategy that can propose while jobs run; "
            f"{built.name!r} "
            "breeds whole generations",
            f"strategy={built.name!r}",
            "Use mode='generational' with it, or an async-capable strategy such as 'random', "
            "'bo', 'ga', 'dea', 'eda', 'es' or 'nsga2'.",
        )
    return built


def _plan_early_stopping(
    early_stopping: object,
    options: Mapping[str, Any] | None,
    job: TrainingJob,
    space: SearchSpace,
    objectives: tuple[Objective, ...],
    strategy: Strategy,
) -> EarlyStoppingPlan | None:
    if early_stopping is None:
        if options:
            raise UserError(
                "early_stopping_options need an early_stopping rule",
                f"options {sorted(options)} and early_stopping=None",
                "Set early_stopping='asha' (or 'median', 'hyperband'), or drop the options.",
            )
        return None
    plan = plan_early_stopping(early_stopping, options, job=job, space=space, objectives=objectives)
    if strategy.warm_starts:
        raise UserError(
            "early stopping does not combine with a strategy that starts jobs from a "
            "parent's checkpoint (only a completed job can be a parent, and such a "
            "strategy already drops its weak members itself)",
            f"early_stopping={plan.name!r} with strategy {strategy.name!r}",
            "Drop early_stopping, or use a strategy that starts every job afresh.",
        )
    return plan


@dataclass(frozen=True)
class StudySpecification:
    """A study, checked and frozen (see the module's docstring for its parts)."""

    name: str
    job: TrainingJob
    space: SearchSpace
    objectives: tuple[Objective, ...]
    strategy: Strategy
    strategy_options: Mapping[str, Any]
    seed: int | None
    mode: Mode
    budget: Budget
    prices: Mapping[str, float] | None
    poll_interval: float | None
    early_stopping: EarlyStoppingPlan | None
    warm_start: tuple[warm.WarmStartSource, ...]

    @classmethod
    def from_arguments(
        cls,
        job: TrainingJob | Any,
        space: SearchSpace | Mapping[str, Any],
        *,
        strategy: str | Strategy | Any = "auto",
        strategy_options: Mapping[str, Any] | None = None,
        objective: str | None = None,
        direction: str = "maximize",
        objectives: Mapping[str, str] | Sequence[Objective] | None = None,
        max_jobs: int = 30,
        max_parallel_jobs: int = 4,
        mode: str = "generational",
        study_name: str | None = None,
        max_runtime: float | None = None,
        max_cost: float | None = None,
        max_retries: int = 2,
        seed: int | None = None,
        prices: Mapping[str, float] | None = None,
        poll_interval: float | None = None,
        early_stopping: object = None,
        early_stopping_options: Mapping[str, Any] | None = None,
        warm_start: object = None,
    ) -> StudySpecification:
        """The specification the Tuner's keyword arguments describe; any mistake raises
        (a :class:`~byohpo.errors.UserError`) before anything is launched."""
        from byohpo.job import TrainingJob

        job = job if isinstance(job, TrainingJob) else TrainingJob.from_sagemaker(job)
        space = space if isinstance(space, SearchSpace) else SearchSpace(space)
        goals = make_objectives(objective, direction, objectives)
        check_objectives_are_metrics(goals, list(job.metric_definitions))
        budget = _check_budget(max_jobs, max_parallel_jobs, max_runtime, max_cost, max_retries)
        checked_mode = _check_mode(mode)
        clashes = sorted(set(space) & set(job.hyperparameters))
        if clashes:
            raise UserError(
                "a hyperparameter is either searched or fixed in the job, not both",
                f"{clashes} in both the space and TrainingJob(hyperparameters=...)",
                "Remove it from one of them.",
            )
        options = dict(strategy_options or {})
        built = _make_strategy(strategy, options, job, space, goals, budget, checked_mode, seed)
        sources = warm.warm_start_sources(warm_start, built)
        plan = _plan_early_stopping(
            early_stopping, early_stopping_options, job, space, goals, built
        )
        return cls(
            name=_check_name(study_name),
            job=job,
            space=space,
            objectives=goals,
            strategy=built,
            strategy_options=options,
            seed=seed,
            mode=checked_mode,
            budget=budget,
            prices=dict(prices) if prices else None,
            poll_interval=_check_seconds("poll_interval", poll_interval),
            early_stopping=plan,
            warm_start=sources,
        )

    @classmethod
    def from_definition(
        cls,
        definition: Mapping[str, Any],
        *,
        strategy: Strategy | Any | None = None,
        early_stopping: object = None,
        job: TrainingJob | None = None,
    ) -> StudySpecification:
        """The specification of a recorded study, to resume it.

        ``strategy`` and ``early_stopping`` are needed only for the user's own
        objects (byohpo's own are rebuilt by name); ``job`` gives back the
        secret environment values the record leaves out. The warm start is not
        rebuilt: what it told the strategy is in the store and told again from there.
        """
        from byohpo.job import TrainingJob

        d = definition
        rule = d.get("early_stopping")
        if early_stopping is None and rule is not None and rule not in RULES:
            raise UserError(
                f"this study stopped jobs with a rule of your own ({rule}); resuming it needs "
                "that rule again",
                "no early_stopping object",
                f"Pass it: byohpo.Tuner.resume({d.get('name')!r}, early_stopping={rule}(...)).",
            )
        job_json = restore_job(
            d["job"],
            list(d.get("secret_environment", [])),
            given=job.to_json() if job is not None else None,
        )
        recorded_options = d.get("early_stopping_options")
        if early_stopping is not None and recorded_options:
            # the user's own rule takes its own options; only the study's reading is kept
            recorded_options = {
                k: v for k, v in recorded_options.items() if k in ("metric", "read_interval")
            }
        return cls.from_arguments(
            TrainingJob.from_json(job_json),
            SearchSpace.from_json(d["space"]),
            strategy=strategy if strategy is not None else d["strategy"],
            strategy_options=None if strategy is not None else d.get("strategy_options"),
            objectives=[Objective(o["metric"], o["direction"]) for o in d["objectives"]],
            max_jobs=d["max_jobs"],
            max_parallel_jobs=d["max_parallel_jobs"],
            mode=d["mode"],
            study_name=d["name"],
            max_runtime=d.get("max_runtime"),
            max_cost=d.get("max_cost"),
            max_retries=d.get("max_retries", 2),
            seed=d.get("seed"),
            prices=d.get("prices"),
            early_stopping=early_stopping if early_stopping is not None else rule,
            early_stopping_options=recorded_options,
        )

    def definition(
        self,
        *,
        study_id: str | None,
        region: str | None,
        backend: str,
        jobs_run_in: str,
        time: float,
        events_queue: str | None = None,
    ) -> dict[str, Any]:
        """The study as recorded in its store (what :meth:`from_definition` reads back), with
        the run's own facts: its id, region, backend, where its jobs run, the queue its jobs'
        events come from (if any) and when it began.

        Secret environment values of the job are not in it (see :mod:`byohpo._redaction`).
        """
        job, secret_environment = redact_job(self.job.to_json())
        return {
            "event": "study",
            "format": STUDY_FORMAT,
            "name": self.name,
            "study_id": study_id,
            "space": self.space.to_json(),
            "parameter_names": list(self.space),
            "job": job,
            **({"secret_environment": secret_environment} if secret_environment else {}),
            "metric_names": list(self.job.metric_definitions),
            "objectives": [
                {"metric": o.metric, "direction": str(o.direction)} for o in self.objectives
            ],
            "strategy": self.strategy.name or type(self.strategy).__name__,
            "strategy_options": dict(getattr(self.strategy, "options", self.strategy_options)),
            "mode": self.mode,
            **self._early_stopping_definition(),
            "max_jobs": self.budget.max_jobs,
            "max_parallel_jobs": self.budget.max_parallel_jobs,
            "max_runtime": self.budget.max_runtime,
            "max_cost": self.budget.max_cost,
            "max_retries": self.budget.max_retries,
            **({"warm_start": [s.to_json() for s in self.warm_start]} if self.warm_start else {}),
            "seed": self.seed,
            "prices": dict(self.prices) if self.prices is not None else None,
            "region": region,
            "instance_type": self.job.instance_type,
            "instance_count": self.job.instance_count,
            "backend": backend,
            "jobs_run_in": jobs_run_in,
            **({"events_queue": events_queue} if events_queue else {}),
            "time": time,
        }

    def _early_stopping_definition(self) -> dict[str, Any]:
        plan = self.early_stopping
        if plan is None:
            return {}
        return {
            "early_stopping": plan.name,
            "early_stopping_options": {
                **plan.options,
                "metric": plan.metric,
                "read_interval": plan.read_interval,
            },
        }
