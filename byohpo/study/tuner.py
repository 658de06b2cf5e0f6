"""The Tuner: one study, from a notebook, a pipeline step or the command line."""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from byohpo.backends.base import Backend, new_study_id
from byohpo.errors import JobDefinitionError, StudyStopped, UserError
from byohpo.objectives import Objective, check_objectives_are_metrics, make_objectives
from byohpo.redaction import redact_job, restore_job
from byohpo.space import SearchSpace
from byohpo.stopping import RULES
from byohpo.study import warm_start as warm
from byohpo.study.damage import refuse_damaged
from byohpo.study.early_stopping import EarlyStopping, EarlyStoppingPlan, plan_early_stopping
from byohpo.study.events import FORMAT_VERSION, StudyDefined, StudyFinished, StudyInterrupted
from byohpo.study.local_log import LocalEventLog
from byohpo.study.loop import Budget, StudyLoop
from byohpo.study.ownership import StudyClaim, claim
from byohpo.study.progress import Progress
from byohpo.study.store import EventLog, Store, StudyLog
from byohpo.trial import Mode

if TYPE_CHECKING:
    from byohpo.clock import Clock
    from byohpo.job import TrainingJob
    from byohpo.results import StudyResult
    from byohpo.strategies.base import Strategy
    from byohpo.study.events import WarmStarted
    from byohpo.study.sagemaker_tuning import SageMakerTuningRun

MODES = tuple(m.value for m in Mode)
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
STUDY_FORMAT = FORMAT_VERSION
DEFAULT_STUDIES_DIR = "byohpo-studies"


def studies_dir() -> Path:
    """Where studies are kept by default: ``$BYOHPO_STUDIES`` or ``./byohpo-studies``."""
    return Path(os.environ.get("BYOHPO_STUDIES", DEFAULT_STUDIES_DIR))


def study_location(study: str | os.PathLike[str]) -> str:
    """A study's store: an ``s3://`` prefix, a directory with a log, or a name in studies_dir()."""
    text = str(study)
    if text.startswith("s3://"):
        return text
    path = Path(text)
    if (path / "events.jsonl").exists() or os.sep in text or text.startswith("."):
        return str(path)
    return str(studies_dir() / text)


def _check_count(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{name} must be a whole number >= {minimum}", repr(value), f"Set {name}.")
    return value


def _check_seconds(name: str, value: object) -> float | None:
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


class Tuner:
    """Runs a study: asks the strategy, launches each proposal as a job, tells it the results.

    ``run()`` returns a :class:`~byohpo.results.StudyResult`. Everything is
    checked before the first job is launched. Every job is recorded in the
    study's store before it is created, so an interrupted study is resumed
    with :meth:`Tuner.resume` (or ``byohpo resume``) without launching a job
    twice or losing a result.

    ``store`` is where the study's event log goes: a directory, an ``s3://``
    prefix, or an :class:`~byohpo.study.store.EventLog` object, such as a
    :class:`~byohpo.study.store.MemoryEventLog` for a simulation that need not
    survive the process (default: the study's name in ``byohpo-studies/``).
    """

    def __init__(
        self,
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
        backend: Backend | None = None,
        study_name: str | None = None,
        max_runtime: float | None = None,
        max_cost: float | None = None,
        max_retries: int = 2,
        seed: int | None = None,
        store: str | os.PathLike[str] | EventLog | None = None,
        prices: Mapping[str, float] | None = None,
        on_interrupt: str = "ask",
        progress: bool | TextIO | None = True,
        poll_interval: float | None = None,
        clock: Clock | None = None,
        early_stopping: object = None,
        early_stopping_options: Mapping[str, Any] | None = None,
        warm_start: object = None,
    ) -> None:
        from byohpo.job import TrainingJob
        from byohpo.strategies import AutoStrategy, make_strategy

        self.job: TrainingJob = (
            job if isinstance(job, TrainingJob) else TrainingJob.from_sagemaker(job)
        )
        self.space = space if isinstance(space, SearchSpace) else SearchSpace(space)
        self.objectives: tuple[Objective, ...] = make_objectives(objective, direction, objectives)
        check_objectives_are_metrics(self.objectives, list(self.job.metric_definitions))
        self.max_jobs = _check_count("max_jobs", max_jobs)
        self.max_parallel_jobs = _check_count("max_parallel_jobs", max_parallel_jobs)
        if self.max_parallel_jobs > self.max_jobs:
            raise UserError(
                "max_parallel_jobs <= max_jobs must hold",
                f"(max_parallel_jobs={max_parallel_jobs}, max_jobs={max_jobs})",
                "Lower max_parallel_jobs or raise max_jobs.",
            )
        if mode not in MODES:
            raise UserError(f"mode must be one of {MODES}", repr(mode), "Pick one of them.")
        mode = Mode(mode)
        self.mode = mode
        self.max_runtime = _check_seconds("max_runtime", max_runtime)
        self.max_cost = _check_seconds("max_cost", max_cost)
        self.max_retries = _check_count("max_retries", max_retries, minimum=0)
        if on_interrupt not in ("ask", "stop", "keep"):
            raise UserError(
                "on_interrupt must be 'ask', 'stop' or 'keep'",
                repr(on_interrupt),
                "Pick one of them.",
            )
        self.on_interrupt = on_interrupt
        clashes = sorted(set(self.space) & set(self.job.hyperparameters))
        if clashes:
            raise UserError(
                "a hyperparameter is either searched or fixed in the job, not both",
                f"{clashes} in both the space and TrainingJob(hyperparameters=...)",
                "Remove it from one of them.",
            )
        self.strategy: Strategy = make_strategy(strategy, **dict(strategy_options or {}))
        if isinstance(self.strategy, AutoStrategy) and self.strategy.max_jobs is None:
            self.strategy.max_jobs = self.max_jobs  # auto chooses for the study's budget
        self.strategy.setup(self.space, self.objectives, seed)
        self.strategy.set_mode(mode)
        if self.strategy.warm_starts and self.job.checkpoint_s3_uri is None:
            raise JobDefinitionError(
                f"the {self.strategy.name!r} strategy starts each job from a parent job's "
                "checkpoint, so every job must keep its checkpoints in S3: the job needs "
                "checkpoint_s3_uri",
                "TrainingJob(checkpoint_s3_uri=None)",
                "Set checkpoint_s3_uri, e.g. 's3://my-bucket/byohpo/checkpoints' (each job "
                "checkpoints under <checkpoint_s3_uri>/<job name>).",
            )
        if getattr(self.strategy, "runs_on_sagemaker", False):
            from byohpo.strategies.sagemaker_tuner import check_tuning_limits

            check_tuning_limits(
                self.strategy,  # type: ignore[arg-type]
                self.objectives,
                self.max_jobs,
                self.max_parallel_jobs,
                list(self.job.metric_definitions),
            )
        if mode is Mode.ASYNC and not self.strategy.supports_async:
            raise UserError(
                "mode='async' needs a strategy that can propose while jobs run; "
                f"{self.strategy.name!r} "
                "breeds whole generations",
                f"strategy={self.strategy.name!r}",
                "Use mode='generational' with it, or an async-capable strategy such as 'random', "
                "'bo', 'ga', 'dea', 'eda', 'es' or 'nsga2'.",
            )
        self.warm_start = warm.warm_start_sources(warm_start, self.strategy)
        self.seed = seed
        self.strategy_options = dict(strategy_options or {})
        self.early_stopping: EarlyStoppingPlan | None = None
        if early_stopping is not None:
            self.early_stopping = plan_early_stopping(
                early_stopping,
                early_stopping_options,
                job=self.job,
                space=self.space,
                objectives=self.objectives,
            )
            if self.strategy.warm_starts:
                raise UserError(
                    "early stopping does not combine with a strategy that starts jobs from a "
                    "parent's checkpoint (only a completed job can be a parent, and such a "
                    "strategy already drops its weak members itself)",
                    f"early_stopping={self.early_stopping.name!r} with strategy "
                    f"{self.strategy.name!r}",
                    "Drop early_stopping, or use a strategy that starts every job afresh.",
                )
        elif early_stopping_options:
            raise UserError(
                "early_stopping_options need an early_stopping rule",
                f"options {sorted(early_stopping_options)} and early_stopping=None",
                "Set early_stopping='asha' (or 'median', 'hyperband'), or drop the options.",
            )
        if study_name is None:
            study_name = datetime.now(UTC).strftime("study-%Y%m%d-%H%M%S")
        self.study_name = study_name
        if not isinstance(self.study_name, str) or not STUDY_NAME.match(self.study_name):
            raise UserError(
                "a study name is 1 to 100 letters, digits, '-', '_' or '.', "
                "starting with a letter or digit",
                repr(study_name),
                "Rename the study (it names its jobs and its store).",
            )
        if backend is not None and not isinstance(backend, Backend):
            raise UserError(
                "backend must be a backend object",
                repr(backend),
                "Pass byohpo.SageMakerBackend(region=...), byohpo.FakeSageMaker() for a dry "
                "run, or leave it out for SageMaker with your default AWS settings.",
            )
        self._backend = backend
        self.store = Store(store if store is not None else study_location(self.study_name))
        self.prices = dict(prices) if prices else None
        self.poll_interval = _check_seconds("poll_interval", poll_interval)
        self._clock = clock
        if progress is True:
            stream: TextIO | None = sys.stdout
        elif progress is False or progress is None:
            stream = None
        else:
            stream = progress
        self.progress = Progress(self.study_name, stream)
        self.stop_reason: str | None = None
        self.study_id: str | None = None
        """The study's unique id, given when it is first run; in its jobs' names and tags."""

    # -- the backend, created late so a Tuner can be built without AWS credentials ----------
    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from byohpo.backends.sagemaker import SageMakerBackend

            self._backend = SageMakerBackend()
        return self._backend

    @property
    def clock(self) -> Clock:
        return self._clock or self.backend.clock

    def definition(self) -> dict[str, Any]:
        """The study as recorded in its store (enough to resume it from the command line).

        Secret environment values of the job are not in it (see :mod:`byohpo.redaction`).
        """
        job, secret_environment = redact_job(self.job.to_json())
        return {
            "event": "study",
            "format": STUDY_FORMAT,
            "name": self.study_name,
            "study_id": self.study_id,
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
            "max_jobs": self.max_jobs,
            "max_parallel_jobs": self.max_parallel_jobs,
            "max_runtime": self.max_runtime,
            "max_cost": self.max_cost,
            "max_retries": self.max_retries,
            **({"warm_start": [s.to_json() for s in self.warm_start]} if self.warm_start else {}),
            "seed": self.seed,
            "prices": self.prices,
            "region": getattr(self.backend, "region", None),
            "instance_type": self.job.instance_type,
            "instance_count": self.job.instance_count,
            "backend": type(self.backend).__name__,
            "jobs_run_in": str(self.backend.jobs_run_in),
            "time": self.clock.now(),
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

    # -- running ------------------------------------------------------------------------
    def run(self) -> StudyResult:
        """Run the study to its end; returns its results (also after Ctrl-C)."""
        owner = self._claim()
        try:
            log = self.store.load() if self.store.exists() else None
            if log is not None and (log.study or log.damage):
                raise UserError(
                    f"a study named {self.study_name!r} already exists in {self.store.location}",
                    "an existing event log",
                    f"Resume it with byohpo.Tuner.resume({self.study_name!r}) (or `byohpo "
                    f"resume {self.study_name}`), or pick another study_name.",
                )
            self.study_id = new_study_id()
            definition = self.definition()
            self.backend.study_id = self.study_id
            with self.backend:  # held for the run: a dry run's fake starts and stops with it
                self.backend.open(self.study_name, self.job)
                told = self._warm_start()
                self.store.record(StudyDefined(definition, time=float(definition["time"])))
                if told is not None:  # before the first checkpoint: a resume never tells it twice
                    self.store.record(told)
                    for line in warm.describe(told):
                        self.progress.say(line)
                return self._run(None, float(definition["time"]))
        finally:
            if owner is not None:
                owner.release()

    def _warm_start(self) -> WarmStarted | None:
        """Tell the strategy the earlier trials of ``warm_start`` (checked before any job)."""
        if not self.warm_start:
            return None
        start = warm.WarmStart.load(self.warm_start, self.space, self.objectives, self.backend)
        return start.event(start.tell(self.strategy), self.clock.now())

    def _claim(self) -> StudyClaim | None:
        """Claim a local study for this process (refused while another process runs it)."""
        if isinstance(self.store.log, LocalEventLog):
            return claim(self.store.log.directory, self.study_name)
        return None

    @classmethod
    def resume(
        cls,
        study: str | os.PathLike[str],
        *,
        backend: Backend | None = None,
        strategy: Strategy | Any | None = None,
        on_interrupt: str = "ask",
        progress: bool | TextIO | None = True,
        clock: Clock | None = None,
        job: TrainingJob | None = None,
        early_stopping: object = None,
    ) -> StudyResult:
        """Continue a study from its store: re-attach running jobs, collect finished ones, go on.

        ``strategy`` (and ``early_stopping``) is needed only for a user's own
        strategy (or stopping rule) object; byohpo's own are rebuilt from the
        store by name. ``job`` is the study's job given
        again, for the secret environment values the store does not keep (else
        they are read from the process environment; see :mod:`byohpo.redaction`).
        """
        location = study_location(study)
        store = Store(location)
        owner = claim(location, Path(location).name) if not location.startswith("s3://") else None
        try:
            log = store.load()
            if not log.study and not log.damage:
                raise UserError(
                    "resume needs an existing study",
                    f"no study log at {location}",
                    "Check the name or path.",
                )
            refuse_damaged(log, str(study))
            return cls._resume(
                log,
                store.log,
                backend,
                strategy,
                on_interrupt,
                progress,
                clock,
                job,
                early_stopping,
            )
        finally:
            if owner is not None:
                owner.release()

    @classmethod
    def _resume(
        cls,
        log: StudyLog,
        location: EventLog,
        backend: Backend | None,
        strategy: Strategy | Any | None,
        on_interrupt: str,
        progress: bool | TextIO | None,
        clock: Clock | None,
        job: TrainingJob | None,
        early_stopping: object,
    ) -> StudyResult:
        from byohpo.job import TrainingJob

        d = log.study
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
        tuner = cls(
            TrainingJob.from_json(job_json),
            SearchSpace.from_json(d["space"]),
            strategy=strategy if strategy is not None else d["strategy"],
            strategy_options=None if strategy is not None else d.get("strategy_options"),
            objectives=[Objective(o["metric"], o["direction"]) for o in d["objectives"]],
            max_jobs=d["max_jobs"],
            max_parallel_jobs=d["max_parallel_jobs"],
            mode=d["mode"],
            backend=backend,
            study_name=d["name"],
            max_runtime=d.get("max_runtime"),
            max_cost=d.get("max_cost"),
            max_retries=d.get("max_retries", 2),
            seed=d.get("seed"),
            store=location,  # the log as read: the resumed study reads only what it adds
            prices=d.get("prices"),
            on_interrupt=on_interrupt,
            progress=progress,
            clock=clock,
            early_stopping=early_stopping
            if early_stopping is not None
            else d.get("early_stopping"),
            early_stopping_options=(
                {
                    k: v
                    for k, v in d["early_stopping_options"].items()
                    if k in ("metric", "read_interval")
                }
                if early_stopping is not None and d.get("early_stopping_options")
                else d.get("early_stopping_options")
            ),
        )
        tuner.study_id = log.study_id
        tuner.backend.study_id = log.study_id  # None for a study from before study ids
        with tuner.backend:
            tuner.backend.open(tuner.study_name, tuner.job)
            return tuner._run(log, float(d.get("time") or tuner.clock.now()))

    def budget(self) -> Budget:
        """What the study may spend: jobs, parallel jobs, seconds, dollars, retries."""
        return Budget(
            self.max_jobs, self.max_parallel_jobs, self.max_runtime, self.max_cost, self.max_retries
        )

    def _run(self, log: StudyLog | None, started_at: float) -> StudyResult:
        from byohpo.results import StudyResult

        early = (
            EarlyStopping(self.early_stopping, self.backend, self.store, self.clock, self.progress)
            if self.early_stopping is not None
            else None
        )
        loop: StudyLoop | SageMakerTuningRun
        if getattr(self.strategy, "runs_on_sagemaker", False):
            # SageMaker's own tuner launches the jobs; this run records them as trials
            from byohpo.study.sagemaker_tuning import SageMakerTuningRun

            loop = SageMakerTuningRun.for_tuner(self, started_at)
        else:
            loop = StudyLoop(
                study_name=self.study_name,
                space=self.space,
                strategy=self.strategy,
                objectives=self.objectives,
                backend=self.backend,
                store=self.store,
                budget=self.budget(),
                mode=self.mode,
                clock=self.clock,
                progress=self.progress,
                instance_type=self.job.instance_type,
                instance_count=self.job.instance_count,
                region=getattr(self.backend, "region", None),
                prices=self.prices,
                poll_interval=self.poll_interval,
                started_at=started_at,
                early_stopping=early,
            )
        if log is None:
            if isinstance(loop, StudyLoop):
                loop.checkpoint(always=True)  # the strategy as set up (and told of any warm start)
        else:
            if early is not None:  # before the strategy is replayed: it is told partial results
                early.adopt(log.stopping_events(), log.trials)
            live = {s.job_name: s for s in self.backend.list_study_jobs()}
            if isinstance(loop, StudyLoop):
                warm.tell_again(log, self.strategy)
            loop.adopt(log, live)
            self.progress.say(
                f"resumed: {len(loop.trials)} trials on record, "
                f"{len(loop.in_flight)} jobs re-attached, "
                f"{len(loop.unlaunched)} to launch"
            )
        reason: str | None = None
        raised = False  # the error then says why the study stopped, once
        try:
            reason = loop.run()
        except KeyboardInterrupt:
            reason = self._interrupted(loop)
        except StudyStopped as exc:
            reason, raised = str(exc), True
            raise
        except UserError as exc:
            reason, raised = f"stopped: {exc}", True
            loop.stop_all()
            raise
        except BaseException as exc:
            running = len(loop.in_flight)
            self.store.record(
                StudyInterrupted(
                    f"{type(exc).__name__}: {exc}",
                    "kept",
                    running,
                    tuple(sorted(loop.in_flight.values())),
                    time=self.clock.now(),
                )
            )
            self.progress.say(
                f"stopped by an error; {running} jobs keep running. "
                f"Resume with: byohpo resume {self.study_name}"
            )
            raise
        finally:
            self.backend.close()
            if reason is not None:
                self.stop_reason = reason
                if reason != "interrupted":
                    self.store.record(StudyFinished(reason, time=self.clock.now()))
                    if raised:
                        self.progress.say("stopped early: the reason follows")
                    else:
                        self.progress.say(f"finished: {reason}")
        return StudyResult(self.store.load())

    def _interrupted(self, loop: StudyLoop | SageMakerTuningRun) -> str:
        running = len(loop.in_flight)
        choice = self.on_interrupt
        if choice == "ask":
            choice = "keep"
            if running and sys.stdin is not None and sys.stdin.isatty():
                try:
                    answer = input(f"\nStop the {running} jobs in flight? [y/N] ")
                except (EOFError, KeyboardInterrupt):
                    answer = ""
                choice = "stop" if answer.strip().lower() in ("y", "yes") else "keep"
        if choice == "stop":
            loop.stop_all()
        self.store.record(
            StudyInterrupted(
                "Ctrl-C",
                "stopped" if choice == "stop" else "kept",
                running,
                tuple(sorted(loop.in_flight.values())),
                time=self.clock.now(),
            )
        )
        if choice == "stop":
            self.progress.say(f"interrupted: asked SageMaker to stop the {running} jobs in flight")
        else:
            self.progress.say(
                f"interrupted: {running} jobs keep running; "
                f"collect them with: byohpo resume {self.study_name}"
            )
        return "interrupted"
