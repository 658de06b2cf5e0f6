"""The SageMaker SDK tuner's arguments, read as byohpo's: checked, then converted.

:class:`~byohpo.sdk._tuner.HyperparameterTuner` takes the SDK's arguments in the
SDK's order; this module refuses those byohpo cannot honour (with what to do
instead), and turns the others into what a byohpo study takes: a strategy name,
a direction, an early-stopping rule, the default ``max_jobs``, the training job
(the estimator's, with the tuner's metric definitions and tags) and the
input channels of ``fit(inputs)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from byohpo.errors import UserError
from byohpo.sdk._conversion import channels_from_sdk, tags_from_sdk
from byohpo.space import Categorical, SearchSpace

if TYPE_CHECKING:
    from byohpo.job import TrainingJob

SAGEMAKER_STRATEGIES = {
    "bayesian": "sagemaker:bayesian",
    "random": "sagemaker:random",
    "hyperband": "sagemaker:hyperband",
    "grid": "sagemaker:grid",
}
"""SageMaker's own strategy names (any case), run by SageMaker's tuner as a byohpo strategy."""

_UNSUPPORTED = {
    "completion_criteria_config": "byohpo stops at max_jobs, max_runtime or max_cost",
    "autotune": "give explicit ranges",
}


def refuse_unsupported(
    *,
    completion_criteria_config: Any,
    autotune: bool,
    estimator_name: str | None,
    model_trainer_name: str | None,
) -> None:
    """Refuse the SDK's arguments byohpo has no equivalent for."""
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


def early_stopping_rule(early_stopping_type: str) -> str | None:
    """byohpo's stopping rule for the SDK's ``early_stopping_type`` (None: none)."""
    if str(early_stopping_type) not in ("Off", "Auto"):
        raise UserError(
            "early_stopping_type must be 'Off' or 'Auto'",
            repr(early_stopping_type),
            "Use one of the two.",
        )
    # "Auto" is SageMaker's median rule, which byohpo's "median" stopping rule reproduces.
    return "median" if early_stopping_type == "Auto" else None


def check_early_stopping(early_stopping: str | None, strategy: str | None, given: Any) -> None:
    """byohpo's stopping rule stops byohpo's jobs only: not with SageMaker's own tuner."""
    if early_stopping is not None and str(strategy).startswith("sagemaker:"):
        raise UserError(
            "early_stopping_type='Auto' runs byohpo's median rule, which stops jobs byohpo "
            "launched; SageMaker's own tuner's jobs are not among them",
            f"early_stopping_type='Auto' with strategy={given!r}",
            "Use a byohpo strategy (leave strategy out), or early_stopping_type='Off'.",
        )


def check_static(names: list[str] | None, space: SearchSpace) -> None:
    """``hyperparameters_to_keep_static`` may not name a tuned hyperparameter."""
    clash = sorted(set(names or []) & set(space.tunable_names))
    if clash:
        raise UserError(
            "hyperparameters_to_keep_static cannot name a tuned hyperparameter",
            repr(clash),
            "Remove it from one of the two.",
        )


def strategy_name(strategy: str | None) -> str | None:
    """SageMaker's ``"Bayesian"`` and others become ``"sagemaker:bayesian"``; byohpo's pass."""
    if strategy is None:
        return None
    return SAGEMAKER_STRATEGIES.get(strategy.strip().lower(), strategy)


def direction(objective_type: str) -> str:
    """``"Maximize"`` or ``"Minimize"`` (any case) as byohpo's direction."""
    directions = {"maximize": "maximize", "minimize": "minimize"}
    found = directions.get(str(objective_type).lower())
    if found is None:
        raise UserError(
            "objective_type must be 'Maximize' or 'Minimize'",
            repr(objective_type),
            "Use one of the two, as with SageMaker's tuner.",
        )
    return found


def default_max_jobs(strategy: str | None, space: SearchSpace) -> int:
    """As the SDK: one job, or the whole grid for grid search."""
    if strategy == SAGEMAKER_STRATEGIES["grid"]:
        return math.prod(len(p.values) for p in space.values() if isinstance(p, Categorical))
    return 1


def channels(inputs: Any) -> dict[str, str] | None:
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
    found: dict[str, str] = {}
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
        found[str(channel)] = uri
    return found


def training_job(
    estimator: Any,
    space: SearchSpace,
    metric_definitions: Mapping[str, str],
    tags: Any,
    inputs: dict[str, str] | None,
) -> TrainingJob:
    """The estimator's training job, with the tuner's metric definitions, tags and inputs."""
    from byohpo.job import TrainingJob

    overrides: dict[str, Any] = {}
    if isinstance(estimator, TrainingJob):
        fields = estimator.to_json()
    else:
        fields = TrainingJob.from_sagemaker(estimator).to_json()
    if inputs is not None:
        overrides["inputs"] = inputs
    metrics = dict(fields.get("metric_definitions") or {})
    metrics.update(metric_definitions)
    overrides["metric_definitions"] = metrics
    # As in SageMaker's tuner, a tuned value replaces the estimator's own.
    fixed = dict(fields.get("hyperparameters") or {})
    overrides["hyperparameters"] = {k: v for k, v in fixed.items() if k not in space}
    if tags:
        overrides["tags"] = {**dict(fields.get("tags") or {}), **tags_from_sdk(tags)}
    fields.update(overrides)
    return TrainingJob(**fields)
