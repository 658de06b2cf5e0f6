"""``byohpo.HyperparameterTuner``: the SageMaker SDK's tuner, with byohpo behind it.

Code written for ``sagemaker.tuner.HyperparameterTuner`` (SDK v2, with an
``Estimator``) or ``sagemaker.train.tuner.HyperparameterTuner`` (SDK v3, with a
``ModelTrainer``) runs with only its import changed: the same arguments, in the
same order, and the same methods (``fit``/``tune``, ``wait``, ``describe``,
``best_training_job``, ``stop_tuning_job``, ``analytics().dataframe()``,
``attach``). The tuning job is a byohpo study of the same name; its store is
where :func:`~byohpo.study.tuner.study_location` puts a study of that name.
"""

from __future__ import annotations

import contextvars
import math
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from byohpo.errors import UserError
from byohpo.objectives import Objective
from byohpo.results import StudyResult
from byohpo.sdk.analytics import TuningAnalytics, sdk_description
from byohpo.sdk.conversion import (
    channels_from_sdk,
    hyperband_options,
    metric_definitions_from_sdk,
    warm_start_options,
    warm_start_parents,
)
from byohpo.space import Categorical, SearchSpace
from byohpo.study.store import Store
from byohpo.study.tuner import Tuner, study_location

if TYPE_CHECKING:
    from byohpo.backends.base import Backend
    from byohpo.clock import Clock
    from byohpo.job import TrainingJob

SAGEMAKER_STRATEGIES = {
    "bayesian": "sagemaker:bayesian",
    "random": "sagemaker:random",
    "hyperband": "sagemaker:hyperband",
    "grid": "sagemaker:grid",
}
"""SageMaker's own strategy names (any case), run by SageMaker's tuner as a byohpo strategy."""

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


_UNSUPPORTED = {
    "completion_criteria_config": "byohpo stops at max_jobs, max_runtime or max_cost",
    "autotune": "give explicit ranges",
}


def _strategy(strategy: str | None) -> str | None:
    """SageMaker's ``"Bayesian"`` and others become ``"sagemaker:bayesian"``; byohpo's pass."""
    if strategy is None:
        return None
    return SAGEMAKER_STRATEGIES.get(strategy.strip().lower(), strategy)


def _direction(objective_type: str) -> str:
    directions = {"maximize": "maximize", "minimize": "minimize"}
    direction = directions.get(str(objective_type).lower())
    if direction is None:
        raise UserError(
            "objective_type must be 'Maximize' or 'Minimize'",
            repr(objective_type),
            "Use one of the two, as with SageMaker's tuner.",
        )
    return direction


def _channels(inputs: Any) -> dict[str, str] | None:
    """The SDK's ``fit(inputs)``: a URI (the ``training`` channel), channel -> URI or
    ``TrainingInput``, or (SDK v3's ``tune``) a list of ``InputData``."""
    if inputs is None:
        return None
    if isinstance(inputs, str):
        return {"training": inputs}
    if isinstance(inputs, list | tuple):  # SDK v3: InputData or Channel objects
        return channels_from_sdk(inputs)
    if not isinstance(inputs, Mapping):
        raise UserError(
            "inputs must be an S3 URI or a dict of channel name -> S3 URI or TrainingInput",
            type(inputs).__name__,
            'Write e.g. fit({"train": "s3://bucket/train"}).',
        )
    channels: dict[str, str] = {}
    for channel, value in inputs.items():
        uri = value
        config = getattr(value, "config", None)  # the SDK's TrainingInput
        if isinstance(config, Mapping):
            uri = config.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri")
        if not isinstance(uri, str):
            raise UserError(
                f"input channel {channel!r} must be an S3 URI or a TrainingInput from S3",
                repr(value)[:200],
                "Give the channel's S3 URI.",
            )
        channels[str(channel)] = uri
    return channels


class _StopWhenAsked:
    """The study's clock, whose next sleep after :meth:`HyperparameterTuner.stop_tuning_job`
    ends the run as Ctrl-C with "stop the jobs" would: the loop stops its jobs (or SageMaker's
    tuning job) and records it. Thread-safe: the request is one event."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.stop_requested = threading.Event()

    def now(self) -> float:
        return self._clock.now()

    def sleep(self, seconds: float) -> None:
        if self.stop_requested.wait(timeout=0):
            raise KeyboardInterrupt("stop_tuning_job()")
        self._clock.sleep(seconds)


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
        given = {
            "completion_criteria_config": completion_criteria_config,
            "autotune": autotune,
        }
        for name, value in given.items():
            if value:
                raise UserError(
                    f"byohpo's HyperparameterTuner does not take {name}",
                    repr(value)[:200],
                    f"Leave it out: {_UNSUPPORTED[name]}.",
                )
        for name, value in (
            ("estimator_name", estimator_name),
            ("model_trainer_name", model_trainer_name),
        ):
            if value is not None:
                raise UserError(
                    "byohpo's HyperparameterTuner tunes one estimator or model trainer",
                    f"{name}={value!r}",
                    f"Leave {name} out.",
                )
        if str(early_stopping_type) not in ("Off", "Auto"):
            raise UserError(
                "early_stopping_type must be 'Off' or 'Auto'",
                repr(early_stopping_type),
                "Use one of the two.",
            )
        # "Auto" is SageMaker's median rule, which byohpo's "median" stopping rule reproduces.
        self.early_stopping = "median" if early_stopping_type == "Auto" else None
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
        static = list(hyperparameters_to_keep_static or [])
        clash = sorted(set(static) & set(self.space.tunable_names))
        if clash:
            raise UserError(
                "hyperparameters_to_keep_static cannot name a tuned hyperparameter",
                repr(clash),
                "Remove it from one of the two.",
            )
        self.metric_definitions = metric_definitions_from_sdk(metric_definitions)
        self.strategy = _strategy(strategy)
        if self.early_stopping is not None and str(self.strategy).startswith("sagemaker:"):
            raise UserError(
                "early_stopping_type='Auto' runs byohpo's median rule, which stops jobs byohpo "
                "launched; SageMaker's own tuner's jobs are not among them",
                f"early_stopping_type='Auto' with strategy={strategy!r}",
                "Use a byohpo strategy (leave strategy out), or early_stopping_type='Off'.",
            )
        self.direction = _direction(objective_type)
        if max_jobs is None:  # as the SDK: one job, or the whole grid for grid search
            max_jobs = 1
            if self.strategy == SAGEMAKER_STRATEGIES["grid"]:
                max_jobs = math.prod(
                    len(p.values) for p in self.space.values() if isinstance(p, Categorical)
                )
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
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._tuner: Tuner | None = None
        self._clock: _StopWhenAsked | None = None

    # -- starting -----------------------------------------------------------------------
    def _job(self, channels: dict[str, str] | None) -> TrainingJob:
        from byohpo.job import TrainingJob

        overrides: dict[str, Any] = {}
        if isinstance(self.estimator, TrainingJob):
            fields = self.estimator.to_json()
        else:
            fields = TrainingJob.from_sagemaker(self.estimator).to_json()
        if channels is not None:
            overrides["inputs"] = channels
        metrics = dict(fields.get("metric_definitions") or {})
        metrics.update(self.metric_definitions)
        overrides["metric_definitions"] = metrics
        # As in SageMaker's tuner, a tuned value replaces the estimator's own.
        fixed = dict(fields.get("hyperparameters") or {})
        overrides["hyperparameters"] = {k: v for k, v in fixed.items() if k not in self.space}
        if self.tags:
            from byohpo.sdk.conversion import tags_from_sdk

            overrides["tags"] = {**dict(fields.get("tags") or {}), **tags_from_sdk(self.tags)}
        fields.update(overrides)
        return TrainingJob(**fields)

    def _study_name(self, job_name: str | None) -> str:
        if job_name:
            return job_name
        base = self.base_tuning_job_name or getattr(self.estimator, "base_job_name", None)
        stamp = datetime.now(UTC).strftime("%y%m%d-%H%M%S-%f")[:-3]
        return f"{base or 'byohpo-tuning'}-{stamp}"

    def _default_backend(self) -> Backend:
        from byohpo.backends.sagemaker import SageMakerBackend

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
        if self._thread is not None or self._tuner is not None:
            raise UserError(
                "this tuner already started a tuning job",
                repr(self.latest_tuning_job),
                "Make a new HyperparameterTuner for another one.",
            )
        job = self._job(_channels(inputs))
        backend = self.backend or self._default_backend()
        self._clock = _StopWhenAsked(backend.clock)
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
            clock=self._clock,
            **tuner_options,
        )
        self.latest_tuning_job = self._tuner.study_name
        self.store = self._tuner.store.location
        if wait:
            self._tuner.run()
            return
        self._thread = threading.Thread(target=self._run_in_background, daemon=True)
        self._thread.start()

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

    def _run_in_background(self) -> None:
        assert self._tuner is not None
        try:
            self._tuner.run()
        except BaseException as exc:  # handed to wait()
            self._error = exc

    def wait(self) -> None:
        """Wait for the tuning job to end. An attached study that had not ended is resumed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if self._error is not None:
                error, self._error = self._error, None
                raise error
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
            running = self._thread is not None and self._thread.is_alive()
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
        if self._tuner is None or self._clock is None or self._thread is None:
            raise UserError(
                "stop_tuning_job stops a tuning job this tuner runs in the background",
                "no fit(wait=False) running in this tuner",
                f"Run `byohpo stop {self.latest_tuning_job}` to stop it from anywhere.",
            )
        self._tuner.on_interrupt = "stop"
        self._clock.stop_requested.set()

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
