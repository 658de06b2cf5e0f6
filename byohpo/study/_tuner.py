"""The Tuner: one study, from a notebook, a pipeline step or the command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from byohpo.backends._base import (
    Backend,
    CopiesCheckpoints,
    ReadsCurves,
    clock_of,
    new_study_id,
    require,
)
from byohpo.errors import UserError
from byohpo.objectives import Objective
from byohpo.space import SearchSpace
from byohpo.study import _warm_start as warm
from byohpo.study._damage import refuse_damaged
from byohpo.study._events import StudyDefined
from byohpo.study._local_log import LocalEventLog
from byohpo.study._loop import Budget
from byohpo.study._ownership import StudyClaim, claim
from byohpo.study._progress import Progress
from byohpo.study._specification import MODES as MODES
from byohpo.study._specification import STUDY_FORMAT as STUDY_FORMAT
from byohpo.study._specification import STUDY_NAME as STUDY_NAME
from byohpo.study._specification import StudySpecification
from byohpo.study._store import DEFAULT_STUDIES_DIR as DEFAULT_STUDIES_DIR
from byohpo.study._store import EventLog, Store, StudyLog
from byohpo.study._store import studies_dir as studies_dir
from byohpo.study._store import study_location as study_location
from byohpo.trial import JobPlace

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.job import TrainingJob
    from byohpo.results import StudyResult
    from byohpo.strategies._base import Strategy
    from byohpo.study._events import WarmStarted


class Tuner:
    """Runs a study: asks the strategy, launches each proposal as a job, tells it the results.

    ``run()`` returns a :class:`~byohpo.results.StudyResult`. Everything is
    checked before the first job is launched. Every job is recorded in the
    study's store before it is created, so an interrupted study is resumed
    with :meth:`Tuner.resume` (or ``byohpo resume``) without launching a job
    twice or losing a result.

    ``store`` is where the study's event log goes: a directory, an ``s3://``
    prefix, or an :class:`~byohpo.study._store.EventLog` object, such as a
    :class:`~byohpo.study._store.MemoryEventLog` for a simulation that need not
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
        spec = StudySpecification.from_arguments(
            job,
            space,
            strategy=strategy,
            strategy_options=strategy_options,
            objective=objective,
            direction=direction,
            objectives=objectives,
            max_jobs=max_jobs,
            max_parallel_jobs=max_parallel_jobs,
            mode=mode,
            study_name=study_name,
            max_runtime=max_runtime,
            max_cost=max_cost,
            max_retries=max_retries,
            seed=seed,
            prices=prices,
            poll_interval=poll_interval,
            early_stopping=early_stopping,
            early_stopping_options=early_stopping_options,
            warm_start=warm_start,
        )
        self._take_up(spec, backend, store, on_interrupt, progress, clock)

    @classmethod
    def from_specification(
        cls,
        spec: StudySpecification,
        *,
        backend: Backend | None = None,
        store: str | os.PathLike[str] | EventLog | None = None,
        on_interrupt: str = "ask",
        progress: bool | TextIO | None = True,
        clock: Clock | None = None,
    ) -> Tuner:
        """The Tuner of a checked study specification, with what this run needs besides."""
        tuner = cls.__new__(cls)
        tuner._take_up(spec, backend, store, on_interrupt, progress, clock)
        return tuner

    def _take_up(
        self,
        spec: StudySpecification,
        backend: Backend | None,
        store: str | os.PathLike[str] | EventLog | None,
        on_interrupt: str,
        progress: bool | TextIO | None,
        clock: Clock | None,
    ) -> None:
        """Hold the study's specification and the run's own parts (checked here)."""
        if on_interrupt not in ("ask", "stop", "keep"):
            raise UserError(
                "on_interrupt must be 'ask', 'stop' or 'keep'",
                repr(on_interrupt),
                "Pick one of them.",
            )
        if backend is not None and not isinstance(backend, Backend):
            raise UserError(
                "backend must be a backend object",
                repr(backend),
                "Pass byohpo.SageMakerBackend(region=...), byohpo.FakeSageMaker() for a dry "
                "run, or leave it out for SageMaker with your default AWS settings.",
            )
        if backend is not None:
            _require_capabilities(spec, backend)
        self.spec = spec
        """The study as checked: its job, space, objectives, strategy, budget, ... (frozen)."""
        self.on_interrupt = on_interrupt
        """How Ctrl-C is answered in this process: 'ask', 'stop' the jobs or 'keep' them."""
        self._backend = backend
        self.store = Store(store if store is not None else study_location(spec.name))
        self._clock = clock
        if progress is True:
            stream: TextIO | None = sys.stdout
        elif progress is False or progress is None:
            stream = None
        else:
            stream = progress
        self.progress = Progress(spec.name, stream)
        self.stop_reason: str | None = None
        self.study_id: str | None = None
        """The study's unique id, given when it is first run; in its jobs' names and tags."""

    # -- the study's parts, as named in the Tuner's arguments ----------------------------
    @property
    def study_name(self) -> str:
        return self.spec.name

    @property
    def job(self) -> TrainingJob:
        return self.spec.job

    @property
    def space(self) -> SearchSpace:
        return self.spec.space

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.spec.objectives

    @property
    def strategy(self) -> Strategy:
        return self.spec.strategy

    @property
    def seed(self) -> int | None:
        return self.spec.seed

    @property
    def prices(self) -> Mapping[str, float] | None:
        return self.spec.prices

    @property
    def poll_interval(self) -> float | None:
        return self.spec.poll_interval

    # -- the backend, created late so a Tuner can be built without AWS credentials ----------
    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from byohpo.backends._sagemaker import SageMakerBackend

            self._backend = SageMakerBackend()
        return self._backend

    @property
    def clock(self) -> Clock:
        return self._clock or clock_of(self.backend)

    def definition(self) -> dict[str, Any]:
        """The study as recorded in its store (enough to resume it from the command line).

        Secret environment values of the job are not in it (see :mod:`byohpo._redaction`).
        """
        return self.spec.definition(
            study_id=self.study_id,
            region=getattr(self.backend, "region", None),
            backend=type(self.backend).__name__,
            jobs_run_in=str(self.backend.jobs_run_in),
            time=self.clock.now(),
            events_queue=getattr(self.backend, "events_queue", None),
        )

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
        if not self.spec.warm_start:
            return None
        if getattr(self.strategy, "runs_on_sagemaker", False):  # SageMaker's: parent tuning jobs
            from byohpo.study._sagemaker_warm_start import ParentTuningJobs

            parents = ParentTuningJobs.load(
                self.spec.warm_start, self.strategy, self.objectives, self.space,
                self.study_name, self.backend,
            )  # fmt: skip
            parents.tell(self.strategy)
            return parents.event(self.clock.now())
        start = warm.WarmStart.load(self.spec.warm_start, self.space, self.objectives, self.backend)
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
        they are read from the process environment; see :mod:`byohpo._redaction`).
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
            backend = _recorded_backend(log.study) if backend is None else backend
            spec = StudySpecification.from_definition(
                log.study, strategy=strategy, early_stopping=early_stopping, job=job
            )
            tuner = cls.from_specification(
                spec,
                backend=backend,
                store=store.log,  # the log as read: the resumed study reads only what it adds
                on_interrupt=on_interrupt,
                progress=progress,
                clock=clock,
            )
            tuner.study_id = log.study_id
            tuner.backend.study_id = log.study_id  # None for a study from before study ids
            with tuner.backend:
                tuner.backend.open(tuner.study_name, tuner.job)
                return tuner._run(log, float(log.study.get("time") or tuner.clock.now()))
        finally:
            if owner is not None:
                owner.release()

    def budget(self) -> Budget:
        """What the study may spend: jobs, parallel jobs, seconds, dollars, retries."""
        return self.spec.budget

    def _run(self, log: StudyLog | None, started_at: float) -> StudyResult:
        from byohpo.study._running import run_to_end

        return run_to_end(self, log, started_at)


def _require_capabilities(spec: StudySpecification, backend: Backend) -> None:
    """Refuse, before anything is recorded, a study that needs what its backend cannot do
    (the loop checks again, for a backend given only when a study resumes)."""
    plan = spec.early_stopping
    if plan is not None:
        require(
            backend,
            ReadsCurves,
            f"early stopping ({plan.name}) reads running jobs' learning curves",
            "Drop early_stopping",
        )
    promotes = plan is not None and plan.promote
    if spec.strategy.warm_starts or promotes:
        needed_for = (
            "ASHA's promotion form (promote = true) continues a paused job"
            if promotes
            else f"the {spec.strategy.name!r} strategy starts jobs"
        )
        require(
            backend,
            CopiesCheckpoints,
            f"{needed_for} from another job's checkpoint",
            "Drop promote to stop jobs for good"
            if promotes
            else "Use a strategy that starts every job afresh",
        )


def _recorded_backend(study: Mapping[str, Any]) -> Backend | None:
    """SageMaker with the queue of status by events a study ran with, for a resume that
    names no backend; ``None`` (the default backend) for a study with no queue or that did
    not run on AWS."""
    if not study.get("events_queue") or JobPlace.recorded(study) is not JobPlace.AWS:
        return None
    from byohpo.backends._sagemaker import SageMakerBackend

    region = study.get("region")
    return SageMakerBackend(
        region=str(region) if region else None, events_queue=str(study["events_queue"])
    )
