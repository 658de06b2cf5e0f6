"""``byohpo.HyperparameterTuner``: the SageMaker SDK's tuner, with byohpo behind it.

Code written for ``sagemaker.tuner.HyperparameterTuner`` (SDK v2, with an
``Estimator``) or ``sagemaker.train.tuner.HyperparameterTuner`` (SDK v3, with a
``ModelTrainer``) runs with only its import changed: the same arguments, in the
same order, and the same methods (``fit``/``tune``, ``wait``, ``describe``,
``best_training_job``, ``stop_tuning_job``, ``analytics().dataframe()``,
``attach``). The tuning job is a byohpo study of the same name; its store is
where :func:`~byohpo.study._tuner.study_location` puts a study of that name.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from byohpo.backends._base import clock_of
from byohpo.errors import UserError
from byohpo.objectives import Objective
from byohpo.results import StudyResult
from byohpo.sdk._analytics import TuningAnalytics, sdk_description
from byohpo.sdk._arguments import (
    SAGEMAKER_STRATEGIES as SAGEMAKER_STRATEGIES,  # still importable from here
)
from byohpo.sdk._arguments import (
    channels,
    check_early_stopping,
    check_static,
    default_max_jobs,
    direction,
    early_stopping_rule,
    refuse_unsupported,
    strategy_name,
    training_job,
)
from byohpo.sdk._background import BackgroundRun, StopWhenAsked
from byohpo.sdk._conversion import (
    hyperband_options,
    metric_definitions_from_sdk,
    warm_start_options,
    warm_start_parents,
)
from byohpo.space import SearchSpace
from byohpo.study._store import Store
from byohpo.study._tuner import Tuner, study_location

if TYPE_CHECKING:
    from byohpo.backends._base import Backend

_DEFAULT_BACKEND: contextvars.ContextVar[Backend | None] = contextvars.ContextVar(
    "byohpo_sdk_default_backend", default=None
)


@contextmanager
def default_backend(backend: Backend) -> Iterator[Backend]:
    """Run the tuners made in this block, and attached to, on ``backend`` unless given another.

    For a dry run of a notebook written for the SDK, unchanged::

        with byohpo.FakeSageMaker() as fake, default_backend(fake):
            ...  # the notebook's cells
    """
    token = _DEFAULT_BACKEND.set(backend)
    try:
        yield backend
    finally:
        _DEFAULT_BACKEND.reset(token)


class HyperparameterTuner:
    """The SageMaker SDK's ``HyperparameterTuner``, running a byohpo study.

    Positional arguments as in the SDK: ``estimator`` (an SDK v2 ``Estimator``,
    an SDK v3 ``ModelTrainer`` or a :class:`~byohpo.job.TrainingJob`),
    ``objective_metric_name``, ``hyperparameter_ranges`` (the SDK's range
    objects or byohpo's), ``metric_definitions`` (the SDK's list of
    ``{"Name", "Regex"}``, or a dict). ``strategy`` is a byohpo strategy name
    (default: byohpo's default) or SageMaker's own (``"Bayesian"``,
    ``"Random"``, ``"Hyperband"``, ``"Grid"``), which runs SageMaker's tuner.

    byohpo's own options come after the SDK's, by keyword: ``backend`` (default:
    the one of :func:`default_backend`, else SageMaker with the estimator's boto3
    session), ``store``, ``progress``, ``strategy_options``, ``max_cost``.

    ``analytics().dataframe()`` has the SDK's columns; its hyperparameter columns
    hold typed values (floats, ints), where the SDK's hold the strings SageMaker
    passed.
    """

    def __init__(
        self,
        estimator: Any = None,
        objective_metric_name: str | None = None,
        hyperparameter_ranges: Mapping[str, Any] | None = None,
        metric_definitions: Any = None,
        strategy: str | None = None,
        objective_type: str = "Maximize",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: int | None = None,
        tags: Any = None,
        base_tuning_job_name: str | None = None,
        warm_start_config: Any = None,
        strategy_config: Any = None,
        completion_criteria_config: Any = None,
        early_stopping_type: str = "Off",
        estimator_name: str | None = None,
        random_seed: int | None = None,
        autotune: bool = False,
        hyperparameters_to_keep_static: list[str] | None = None,
        *,
        model_trainer: Any = None,
        model_trainer_name: str | None = None,
        backend: Backend | None = None,
        store: str | os.PathLike[str] | None = None,
        progress: bool = True,
        strategy_options: Mapping[str, Any] | None = None,
        max_cost: float | None = None,
    ) -> None:
        refuse_unsupported(
            completion_criteria_config=completion_criteria_config,
            autotune=autotune,
            estimator_name=estimator_name,
            model_trainer_name=model_trainer_name,
        )
        self.early_stopping = early_stopping_rule(early_stopping_type)
        source = model_trainer if model_trainer is not None else estimator
        if source is None or objective_metric_name is None or hyperparameter_ranges is None:
            raise UserError(
                "HyperparameterTuner needs an estimator (or model_trainer), "
                "objective_metric_name and hyperparameter_ranges",
                "one of them missing",
                "Pass all three, as with SageMaker's tuner.",
            )
        self.estimator = source
        self.objective_metric_name = objective_metric_name
        self.space = SearchSpace(hyperparameter_ranges)
        check_static(hyperparameters_to_keep_static, self.space)
        self.metric_definitions = metric_definitions_from_sdk(metric_definitions)
        self.strategy = strategy_name(strategy)
        check_early_stopping(self.early_stopping, self.strategy, strategy)
        self.direction = direction(objective_type)
        if max_jobs is None:
            max_jobs = default_max_jobs(self.strategy, self.space)
        self.max_jobs = max_jobs
        self.max_parallel_jobs = max_parallel_jobs
        self.max_runtime = max_runtime_in_seconds
        self.tags = tags
        self.base_tuning_job_name = base_tuning_job_name
        self.seed = random_seed
        self.backend = backend if backend is not None else _DEFAULT_BACKEND.get()
        self.store = store
        self.progress = progress
        self.strategy_options = {
            **hyperband_options(strategy_config, self.strategy),
            **warm_start_options(warm_start_config, self.strategy),
            **dict(strategy_options or {}),
        }
        self.max_cost = max_cost
        self.warm_start = warm_start_parents(warm_start_config)
        self.latest_tuning_job: str | None = None
        self._tuner: Tuner | None = None
        self._background: BackgroundRun | None = None

    # -- starting -----------------------------------------------------------------------
    def _study_name(self, job_name: str | None) -> str:
        if job_name:
            return job_name
        base = self.base_tuning_job_name or getattr(self.estimator, "base_job_name", None)
        stamp = datetime.now(UTC).strftime("%y%m%d-%H%M%S-%f")[:-3]
        return f"{base or 'byohpo-tuning'}-{stamp}"

    def _default_backend(self) -> Backend:
        from byohpo.backends._sagemaker import SageMakerBackend

        session = getattr(getattr(self.estimator, "sagemaker_session", None), "boto_session", None)
        return SageMakerBackend(session=session)

    def fit(
        self,
        inputs: Any = None,
        job_name: str | None = None,
        include_cls_metadata: Any = False,
        estimator_kwargs: Any = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> None:
        """Start the tuning job (a byohpo study named ``job_name``); with ``wait``, run it to
        its end, else run it in the background until :meth:`wait`."""
        if self._tuner is not None:
            raise UserError(
                "this tuner already started a tuning job",
                repr(self.latest_tuning_job),
                "Make a new HyperparameterTuner for another one.",
            )
        job = training_job(
            self.estimator, self.space, self.metric_definitions, self.tags, channels(inputs)
        )
        backend = self.backend or self._default_backend()
        clock = StopWhenAsked(clock_of(backend))
        tuner_options: dict[str, Any] = {}
        if self.strategy is not None:
            tuner_options["strategy"] = self.strategy
        if self.early_stopping is not None:
            tuner_options["early_stopping"] = self.early_stopping
        if self.warm_start:
            tuner_options["warm_start"] = self.warm_start
        self._tuner = Tuner(
            job,
            self.space,
            objectives=[Objective(self.objective_metric_name or "", self.direction)],
            max_jobs=self.max_jobs,
            max_parallel_jobs=self.max_parallel_jobs,
            max_runtime=self.max_runtime,
            max_cost=self.max_cost,
            backend=backend,
            study_name=self._study_name(job_name),
            seed=self.seed,
            store=self.store,
            strategy_options=self.strategy_options or None,
            progress=self.progress,
            on_interrupt="keep",  # Ctrl-C while waiting leaves the jobs running, as with the SDK
            clock=clock,
            **tuner_options,
        )
        self.latest_tuning_job = self._tuner.study_name
        self.store = self._tuner.store.location
        if wait:
            self._tuner.run()
            return
        self._background = BackgroundRun(self._tuner, clock)

    def tune(
        self,
        inputs: Any = None,
        job_name: str | None = None,
        model_trainer_kwargs: Any = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> None:
        """SDK v3's name for :meth:`fit`."""
        self.fit(inputs, job_name=job_name, wait=wait)

    def wait(self) -> None:
        """Wait for the tuning job to end. An attached study that had not ended is resumed."""
        if self._background is not None:
            background, self._background = self._background, None
            background.wait()
            return
        if self._tuner is None and not self._result().is_finished:
            Tuner.resume(
                self._location(), backend=self.backend, progress=self.progress, on_interrupt="keep"
            )

    # -- reading ------------------------------------------------------------------------
    def _location(self) -> str:
        if self.latest_tuning_job is None:
            raise UserError(
                "this tuner has no tuning job yet",
                "fit() was not called",
                "Call fit(inputs) first, or HyperparameterTuner.attach(name).",
            )
        return str(self.store) if self.store is not None else study_location(self.latest_tuning_job)

    def _result(self) -> StudyResult:
        return StudyResult.load(self._location())

    def describe(self) -> dict[str, Any]:
        """``DescribeHyperParameterTuningJob``'s answer, as far as byohpo's study can say."""
        result = self._result()
        if self._tuner is not None:  # run by this tuner: running while its run is
            running = self._background is not None and self._background.is_running
        else:  # attached: running until it records its end
            running = not result.is_finished
        return sdk_description(result, running=running)

    def best_training_job(self) -> str:
        """The name of the best training job so far."""
        best = self.describe().get("BestTrainingJob")
        if best is None:
            raise UserError(
                "no training job of this tuning job has completed with the objective metric",
                repr(self.latest_tuning_job),
                "Wait for a job to complete, and check the metric definitions' regexes.",
            )
        return str(best["TrainingJobName"])

    def analytics(self) -> TuningAnalytics:
        """The SDK's ``HyperparameterTuningJobAnalytics``: ``dataframe()`` per training job."""
        return TuningAnalytics(self._location())

    def result(self) -> StudyResult:
        """byohpo's own results of the study (``table()``, ``best_config()``, plots)."""
        return self._result()

    def stop_tuning_job(self) -> None:
        """Stop the tuning job this tuner started with ``fit(wait=False)``: its jobs in flight
        are stopped (SageMaker's tuning job, for its strategies) and no more are launched;
        ``wait()`` then returns. Another process stops a study with ``byohpo stop NAME``."""
        if self._background is None:
            raise UserError(
                "stop_tuning_job stops a tuning job this tuner runs in the background",
                "no fit(wait=False) running in this tuner",
                f"Run `byohpo stop {self.latest_tuning_job}` to stop it from anywhere.",
            )
        self._background.stop()

    @classmethod
    def attach(
        cls,
        tuning_job_name: str,
        sagemaker_session: Any = None,
        job_details: Any = None,
        estimator_cls: Any = None,
        *,
        backend: Backend | None = None,
        store: str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> HyperparameterTuner:
        """The tuner of an existing study (from another process or notebook), by name."""
        location = str(store) if store is not None else study_location(tuning_job_name)
        log = Store(location).load()
        if not log.study:
            raise UserError(
                "attach needs an existing tuning job (a byohpo study)",
                f"{tuning_job_name!r}: no study at {location}",
                "Give the name the tuning job was started with, or its store=.",
            )
        from byohpo.job import TrainingJob

        study = log.study
        objective = study["objectives"][0]
        tuner = cls(
            TrainingJob.from_json(study["job"], check_files=False),
            objective["metric"],
            SearchSpace.from_json(study["space"]),
            objective_type="Maximize" if objective["direction"] == "maximize" else "Minimize",
            max_jobs=study["max_jobs"],
            max_parallel_jobs=study["max_parallel_jobs"],
            backend=backend,
            store=location,
            progress=progress,
        )
        tuner.strategy = study.get("strategy")
        tuner.latest_tuning_job = log.name
        return tuner
