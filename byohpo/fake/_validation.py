"""What SageMaker checks in a request before it acts, with SageMaker's messages.

Two layers, as in the service:

- the constraints of the API model (lengths, patterns, enums, ranges, list and map sizes),
  read from botocore's copy of the SageMaker model, so they follow the real API; botocore
  itself checks only types, required members and minimums on the client side;
- the rules of CreateTrainingJob that the model cannot express (a metric regex that does
  not compile, spot training without a wait time, ...).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

from byohpo.fake._protocol import validation_error

DEFAULT_MAX_RUNTIME_SECONDS = 86_400
"""What SageMaker assumes when a request has no ``StoppingCondition``."""


@functools.cache
def _model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sagemaker")


@functools.cache
def _compile(pattern: str) -> re.Pattern[str] | None:
    """The model's (Java) pattern as a Python regex, or None when Python cannot express it."""
    translated = pattern.replace(r"\p{Alnum}", "a-zA-Z0-9")
    if r"\p{" in translated:
        return None
    try:
        return re.compile(translated)
    except re.error:
        return None


def training_instance_types() -> tuple[str, ...]:
    """Every instance type a training job may ask for, as the API model lists them."""
    shape = _model().shape_for("TrainingInstanceType")
    return tuple(getattr(shape, "enum", ()))


def _member_path(path: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _render(value: object) -> str:
    """A value as the service prints it in a message (Java's ``toString``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)


def _constraints(shape: Shape) -> list[tuple[str, Any]]:
    metadata = shape.metadata
    found: list[tuple[str, Any]] = []
    if "max" in metadata:
        found.append(("max", metadata["max"]))
    if "min" in metadata:
        found.append(("min", metadata["min"]))
    if "pattern" in metadata:
        found.append(("pattern", metadata["pattern"]))
    enum: list[str] | None = getattr(shape, "enum", None)
    if enum:
        found.append(("enum", list(enum)))
    return found


def _describe(kind: str, bound: Any, shape: Shape) -> str:
    sized = "length" if shape.type_name in ("string", "list", "map") else "value"
    if kind == "max":
        return f"Member must have {sized} less than or equal to {bound}"
    if kind == "min":
        return f"Member must have {sized} greater than or equal to {bound}"
    if kind == "pattern":
        shown = bound if bound.startswith("^") else f"^{bound}"
        return f"Member must satisfy regular expression pattern: {shown}"
    return f"Member must satisfy enum value set: [{', '.join(bound)}]"


def _violates(kind: str, bound: Any, value: Any) -> bool:
    size = len(value) if isinstance(value, str | list | dict) else value
    if kind == "max":
        return isinstance(size, int | float) and size > bound
    if kind == "min":
        return isinstance(size, int | float) and size < bound
    if kind == "pattern":
        compiled = _compile(bound)
        return isinstance(value, str) and compiled is not None and not compiled.fullmatch(value)
    return isinstance(value, str) and value not in bound


def _check_scalar(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    for kind, bound in _constraints(shape):
        if _violates(kind, bound, value):
            errors.append(
                f"Value '{_render(value)}' at '{path}' failed to satisfy constraint: "
                + _describe(kind, bound, shape)
            )


def _check_map_part(
    part: str, shape: Shape, items: Sequence[Any], whole: Mapping[str, Any], path: str
) -> str | None:
    constraints = _constraints(shape)
    if not any(_violates(kind, bound, item) for item in items for kind, bound in constraints):
        return None
    described = ", ".join(_describe(kind, bound, shape) for kind, bound in constraints)
    return (
        f"Value '{_render(whole)}' at '{path}' failed to satisfy constraint: "
        f"Map {part} must satisfy constraint: [{described}]"
    )


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            return
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _check(member, value[name], _member_path(path, name), errors)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            return
        _check_scalar(shape, value, path, errors)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", errors)
    elif isinstance(shape, MapShape):
        if not isinstance(value, Mapping):
            return
        _check_scalar(shape, value, path, errors)
        for part, part_shape, items in (
            ("keys", shape.key, list(value.keys())),
            ("value", shape.value, list(value.values())),
        ):
            message = _check_map_part(part, part_shape, items, value, path)
            if message:
                errors.append(message)
    else:
        _check_scalar(shape, value, path, errors)


def _raise_if_any(errors: list[str]) -> None:
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise validation_error(f"{count} validation {noun} detected: " + "; ".join(errors))


def check_model_constraints(operation: str, params: Mapping[str, Any]) -> None:
    """Raise ``ValidationException`` if ``params`` break the API model's constraints."""
    errors: list[str] = []
    shape = _model().operation_model(operation).input_shape
    if shape is not None:
        _check(shape, params, "", errors)
    _raise_if_any(errors)


def _not_null(params: Mapping[str, Any], names: Sequence[str], errors: list[str]) -> None:
    for name in names:
        if params.get(name) is None:
            errors.append(
                f"Value null at '{_member_path('', name)}' failed to satisfy constraint: "
                "Member must not be null"
            )


def check_create_training_job(params: Mapping[str, Any]) -> None:
    """Every check SageMaker makes of a CreateTrainingJob request before it creates the job.

    Raises :class:`ServiceError` (``ValidationException``) with SageMaker's message.
    """
    check_model_constraints("CreateTrainingJob", params)
    errors: list[str] = []
    _not_null(params, ("AlgorithmSpecification", "ResourceConfig"), errors)
    resources = params.get("ResourceConfig") or {}
    if resources and resources.get("InstanceGroups") is None:
        _not_null(resources, ("InstanceType", "InstanceCount"), errors)
        count = resources.get("InstanceCount")
        if isinstance(count, int) and count < 1:
            errors.append(
                f"Value '{count}' at 'resourceConfig.instanceCount' failed to satisfy "
                "constraint: Member must have value greater than or equal to 1"
            )
    _raise_if_any(errors)
    _check_algorithm(params["AlgorithmSpecification"])
    _check_channels(params.get("InputDataConfig") or [])
    _check_stopping(params, resources)


def _check_algorithm(algorithm: Mapping[str, Any]) -> None:
    if not algorithm.get("TrainingImage") and not algorithm.get("AlgorithmName"):
        raise validation_error(
            "You must specify either an AlgorithmName or a TrainingImage in the "
            "AlgorithmSpecification."
        )
    seen: set[str] = set()
    for definition in algorithm.get("MetricDefinitions") or []:
        name, regex = definition.get("Name", ""), definition.get("Regex", "")
        if name in seen:
            raise validation_error(
                f"Duplicate metric name '{name}' in MetricDefinitions: each metric name "
                "must be unique."
            )
        seen.add(name)
        try:
            re.compile(regex)
        except re.error as exc:
            raise validation_error(
                f"Invalid regular expression '{regex}' for metric '{name}' in "
                f"MetricDefinitions: {exc}."
            ) from exc


def _check_channels(channels: Sequence[Mapping[str, Any]]) -> None:
    seen: set[str] = set()
    for channel in channels:
        name = channel.get("ChannelName", "")
        if name in seen:
            raise validation_error(
                f"Channel names must be unique within InputDataConfig, but '{name}' is "
                "used more than once."
            )
        seen.add(name)
        source = channel.get("DataSource") or {}
        if not source.get("S3DataSource") and not source.get("FileSystemDataSource"):
            raise validation_error(
                f"Channel '{name}': DataSource must specify an S3DataSource or a "
                "FileSystemDataSource."
            )


def _check_stopping(params: Mapping[str, Any], resources: Mapping[str, Any]) -> None:
    stopping = params.get("StoppingCondition") or {}
    max_runtime = stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS)
    max_wait = stopping.get("MaxWaitTimeInSeconds")
    if params.get("EnableManagedSpotTraining"):
        if max_wait is None or max_wait < max_runtime:
            raise validation_error(
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or "
                "equal to MaxRuntimeInSeconds"
            )
        if resources.get("KeepAlivePeriodInSeconds"):
            raise validation_error(
                "KeepAlivePeriodInSeconds (warm pools) is not supported for managed spot "
                "training jobs."
            )
    elif max_wait is not None:
        raise validation_error(
            "Invalid MaxWaitTimeInSeconds. It is only supported when "
            "EnableManagedSpotTraining is true."
        )


def check_not_found(found: bool) -> None:
    """SageMaker's answer for a training job that does not exist (a ValidationException)."""
    if not found:
        raise validation_error("Requested resource not found.")
