"""Reading a SageMaker Python SDK ``Estimator`` (v2) or ``ModelTrainer`` (v3) as TrainingJob fields.

The SDK is never imported here: its objects are read by their attributes, so
this works with any SDK release that keeps those names, and byohpo does not
need the SDK unless the user has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from byohpo.errors import JobDefinitionError


def fields_from_sdk(obj: Any) -> dict[str, Any]:
    """The :class:`~byohpo.job.TrainingJob` keyword arguments equivalent to an SDK object."""
    if hasattr(obj, "source_code") and hasattr(obj, "compute"):
        return _from_model_trainer(obj)
    if hasattr(obj, "instance_type") and hasattr(obj, "role") and hasattr(obj, "output_path"):
        return _from_estimator(obj)
    raise JobDefinitionError(
        "from_sagemaker takes a SageMaker SDK Estimator (v2) or ModelTrainer (v3)",
        type(obj).__name__,
        "Pass the estimator or model trainer itself, or build a byohpo.TrainingJob.",
    )


def _value(obj: Any, name: str, default: Any = None) -> Any:
    """An attribute, with the SDK's ``Unassigned`` placeholders read as absent."""
    value = getattr(obj, name, default) if obj is not None else default
    if value is None or type(value).__name__ == "Unassigned":
        return default
    module = type(value).__module__ or ""
    if module.startswith("sagemaker.") and "workflow" in module:
        raise JobDefinitionError(
            f"{name} must be a plain value, not a SageMaker Pipelines variable",
            type(value).__name__,
            "Give the value itself; byohpo resolves nothing at pipeline execution time.",
        )
    return value


def _unsupported(what: str, value: Any, fix: str) -> None:
    if value:
        raise JobDefinitionError(f"byohpo cannot convert {what}", repr(value)[:200], fix)


def _from_estimator(est: Any) -> dict[str, Any]:
    _unsupported(
        "an estimator with dependencies", _value(est, "dependencies"), "Copy them into source_dir."
    )
    _unsupported(
        "an estimator with git_config", _value(est, "git_config"), "Clone the repository first."
    )
    hyperparameters = dict(_value(est, "_hyperparameters", {}) or {})
    if not hyperparameters and callable(getattr(est, "hyperparameters", None)):
        hyperparameters = dict(est.hyperparameters() or {})
    vpc = None
    subnets, groups = _value(est, "subnets"), _value(est, "security_group_ids")
    if subnets or groups:
        vpc = {"Subnets": list(subnets or []), "SecurityGroupIds": list(groups or [])}
    fields: dict[str, Any] = {
        "entry_point": _value(est, "entry_point"),
        "source_dir": _value(est, "source_dir"),
        "image_uri": _value(est, "image_uri"),
        "framework": _value(est, "_framework_name"),
        "framework_version": _value(est, "framework_version"),
        "py_version": _value(est, "py_version"),
        "role": _value(est, "role"),
        "instance_type": _value(est, "instance_type"),
        "instance_count": _value(est, "instance_count", 1),
        "volume_size_gb": _value(est, "volume_size", 30),
        "max_runtime_seconds": _value(est, "max_run", 24 * 3600),
        "use_spot": bool(_value(est, "use_spot_instances", False)),
        "max_wait_seconds": _value(est, "max_wait"),
        "keep_alive_seconds": _value(est, "keep_alive_period_in_seconds", 0),
        "checkpoint_s3_uri": _value(est, "checkpoint_s3_uri"),
        "checkpoint_local_path": _value(est, "checkpoint_local_path"),
        "input_mode": _value(est, "input_mode", "File"),
        "output_path": _value(est, "output_path"),
        "metric_definitions": metric_definitions_from_sdk(_value(est, "metric_definitions", [])),
        "hyperparameters": _user_hyperparameters(hyperparameters),
        "environment": dict(_value(est, "environment", {}) or {}),
        "tags": tags_from_sdk(_value(est, "tags", [])),
        "vpc_config": vpc,
        "kms_key_id": _value(est, "output_kms_key"),
        "volume_kms_key_id": _value(est, "volume_kms_key"),
        "container_log_level": _value(est, "container_log_level", 20),
    }
    return fields


def _from_model_trainer(trainer: Any) -> dict[str, Any]:
    _unsupported(
        "a ModelTrainer with algorithm_name",
        _value(trainer, "algorithm_name"),
        "byohpo runs scripts in a training image: give training_image and source_code.",
    )
    _unsupported(
        "a ModelTrainer with distributed=",
        _value(trainer, "distributed"),
        "Launch the script with its own distribution code, or use the SDK's tuner.",
    )
    code = _value(trainer, "source_code")
    entry_point = _value(code, "entry_script")
    _unsupported(
        "a SourceCode with a command",
        _value(code, "command"),
        "Give entry_script instead: byohpo runs it in script mode as framework images do.",
    )
    requirements = _value(code, "requirements")
    if requirements not in (None, "requirements.txt"):
        raise JobDefinitionError(
            "in script mode the container installs requirements.txt at the root of source_dir",
            repr(requirements),
            "Name the file requirements.txt at the root of source_dir.",
        )
    compute = _value(trainer, "compute")
    stopping = _value(trainer, "stopping_condition")
    output = _value(trainer, "output_data_config")
    checkpoint = _value(trainer, "checkpoint_config")
    networking = _value(trainer, "networking")
    hyperparameters = _value(trainer, "hyperparameters", {})
    if isinstance(hyperparameters, str):
        raise JobDefinitionError(
            "the ModelTrainer's hyperparameters must be a dict to convert",
            f"a file {hyperparameters!r}",
            "Load the file into a dict and pass that.",
        )
    vpc = None
    if _value(networking, "subnets") or _value(networking, "security_group_ids"):
        vpc = {
            "Subnets": list(_value(networking, "subnets", [])),
            "SecurityGroupIds": list(_value(networking, "security_group_ids", [])),
        }
    return {
        "entry_point": entry_point,
        "source_dir": _value(code, "source_dir"),
        "image_uri": _value(trainer, "training_image"),
        "role": _value(trainer, "role"),
        "instance_type": _value(compute, "instance_type", "ml.m5.xlarge"),
        "instance_count": _value(compute, "instance_count", 1),
        "volume_size_gb": _value(compute, "volume_size_in_gb", 30),
        "use_spot": bool(_value(compute, "enable_managed_spot_training", False)),
        "keep_alive_seconds": _value(compute, "keep_alive_period_in_seconds", 0),
        "volume_kms_key_id": _value(compute, "volume_kms_key_id"),
        "max_runtime_seconds": _value(stopping, "max_runtime_in_seconds", 24 * 3600),
        "max_wait_seconds": _value(stopping, "max_wait_time_in_seconds"),
        "output_path": _value(output, "s3_output_path"),
        "kms_key_id": _value(output, "kms_key_id"),
        "checkpoint_s3_uri": _value(checkpoint, "s3_uri"),
        "checkpoint_local_path": _value(checkpoint, "local_path"),
        "inputs": channels_from_sdk(_value(trainer, "input_data_config", [])),
        "input_mode": _value(trainer, "training_input_mode", "File"),
        "metric_definitions": metric_definitions_from_sdk(
            _value(trainer, "_metric_definitions", [])
        ),
        "hyperparameters": _user_hyperparameters(dict(hyperparameters or {})),
        "environment": dict(_value(trainer, "environment", {}) or {}),
        "tags": tags_from_sdk(_value(trainer, "tags", [])),
        "vpc_config": vpc,
    }


def _pair(item: Any, keys: tuple[str, str], attrs: tuple[str, str]) -> tuple[Any, Any]:
    if isinstance(item, Mapping):
        return item.get(keys[0]), item.get(keys[1])
    return _value(item, attrs[0]), _value(item, attrs[1])


def metric_definitions_from_sdk(items: Any) -> dict[str, str]:
    """``{name: regex}`` from the SDK's list of ``{"Name", "Regex"}`` (or ``MetricDefinition``)."""
    if isinstance(items, Mapping):
        return dict(items)
    result: dict[str, str] = {}
    for item in items or []:
        name, regex = _pair(item, ("Name", "Regex"), ("name", "regex"))
        if not isinstance(name, str) or not isinstance(regex, str):
            raise JobDefinitionError(
                'each metric definition must have a "Name" and a "Regex" (strings)',
                repr(item)[:200],
                'Write [{"Name": "validation:accuracy", "Regex": "acc=([0-9.]+)"}], or a dict '
                "of name -> regex.",
            )
        result[name] = regex
    return result


def tags_from_sdk(items: Any) -> dict[str, str]:
    """``{key: value}`` from the SDK's list of ``{"Key", "Value"}`` (or ``Tag``)."""
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    result: dict[str, str] = {}
    for item in items or []:
        key, value = _pair(item, ("Key", "Value"), ("key", "value"))
        result[str(key)] = "" if value is None else str(value)
    return result


def channels_from_sdk(items: Any) -> dict[str, str]:
    """Channel name -> S3 URI from SDK v3 ``InputData`` / ``Channel`` objects."""
    result: dict[str, str] = {}
    for item in items or []:
        name = _value(item, "channel_name")
        source = _value(item, "data_source")
        uri = source if isinstance(source, str) else None
        if uri is None:  # S3DataSource, or a Channel's DataSource wrapping one
            s3 = _value(source, "s3_data_source", source)
            uri = _value(s3, "s3_uri")
        if not isinstance(uri, str):
            raise JobDefinitionError(
                f"input channel {name!r} must come from S3 to be converted",
                type(source).__name__,
                "Give the channel as an S3 URI.",
            )
        result[str(name)] = uri
    return result


def _user_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    """Drop the ``sagemaker_*`` values an SDK adds for itself; byohpo sets its own."""
    return {k: v for k, v in values.items() if not str(k).lower().startswith("sagemaker_")}


def warm_start_parents(config: Any) -> list[str]:
    """The parent tuning jobs of the SDK's ``WarmStartConfig`` (v2 ``parents``; v3 or the
    API's ``ParentHyperParameterTuningJobs``), as byohpo warm-start sources: each is a
    byohpo study of that name if there is one (the drop-in tuner's tuning jobs are
    studies), else a SageMaker tuning job. Both warm-start types read the parents'
    completed trials and fit them into the new ranges."""
    if config is None:
        return []
    parents = _value(config, "parents")
    if parents is None:
        parents = _value(config, "parent_hyper_parameter_tuning_jobs")
    if parents is None and isinstance(config, Mapping):
        parents = config.get("ParentHyperParameterTuningJobs")
    if isinstance(parents, str) or not isinstance(parents, list | tuple | set | frozenset):
        raise JobDefinitionError(
            "warm_start_config must be a WarmStartConfig naming its parent tuning jobs",
            repr(config)[:200],
            "Pass WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, parents={'my-tuning-job'}).",
        )
    names = []
    for parent in parents:
        name = parent if isinstance(parent, str) else None
        if name is None:
            name = _value(parent, "hyper_parameter_tuning_job_name")
        if name is None and isinstance(parent, Mapping):
            name = parent.get("HyperParameterTuningJobName")
        if not isinstance(name, str) or not name:
            raise JobDefinitionError(
                "each parent of warm_start_config is a tuning job's name",
                repr(parent)[:200],
                "Name the earlier tuning jobs (or byohpo studies) to start from.",
            )
        names.append(name)
    return sorted(set(names))


def warm_start_options(config: Any, strategy: str | None) -> dict[str, str]:
    """The type of the SDK's ``WarmStartConfig`` (v2 ``type``, v3 ``warm_start_type``, the
    API's ``WarmStartType``) as a ``sagemaker:`` strategy's ``warm_start_type`` option:
    SageMaker's tuner gets it as given. byohpo's strategies read the parents' trials
    whatever the type, so they take no option."""
    if config is None or not str(strategy or "").startswith("sagemaker:"):
        return {}
    kind = _value(config, "type")
    if kind is None:
        kind = _value(config, "warm_start_type")
    if kind is None and isinstance(config, Mapping):
        kind = config.get("WarmStartType")
    if kind is None:
        return {}
    from byohpo.strategies._sagemaker_tuner import parse_warm_start_type

    return {"warm_start_type": str(parse_warm_start_type(kind))}


def hyperband_options(config: Any, strategy: str | None) -> dict[str, int]:
    """The SDK's ``StrategyConfig(hyperband_strategy_config=HyperbandStrategyConfig(...))``
    (or the API's dict) as the ``sagemaker:hyperband`` strategy's options."""
    if config is None:
        return {}
    hyperband = _value(config, "hyperband_strategy_config")
    if hyperband is None and isinstance(config, Mapping):
        hyperband = config.get("HyperbandStrategyConfig")
    if hyperband is None or strategy != "sagemaker:hyperband":
        raise JobDefinitionError(
            "strategy_config is SageMaker's Hyperband configuration, for strategy='Hyperband'",
            f"{config!r}"[:200] + f" with strategy={strategy!r}",
            "Pass StrategyConfig(hyperband_strategy_config=HyperbandStrategyConfig(...)) with "
            "strategy='Hyperband', or leave strategy_config out.",
        )
    found = {}
    for option, attribute, key in (
        ("min_resource", "min_resource", "MinResource"),
        ("max_resource", "max_resource", "MaxResource"),
    ):
        value = _value(hyperband, attribute)
        if value is None and isinstance(hyperband, Mapping):
            value = hyperband.get(key)
        if value is not None:
            found[option] = value
    return found
