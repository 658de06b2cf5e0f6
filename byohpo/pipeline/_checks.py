"""Checks of a pipeline definition before SageMaker sees it: structure, names and wiring.

:func:`definition_problems` finds what CreatePipeline would reject or what would fail
only at run time: a reference to a parameter, step, output or property file that does
not exist, a step that refers to itself, an unknown retry exception type, a malformed
name. ``byohpo pipeline deploy`` refuses a definition with problems; a user's own
``extra_steps`` are checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from byohpo.pipeline._definition import RETRYABLE_JOB_ERRORS, RETRYABLE_STEP_ERRORS

NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
PARAMETER_TYPES: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Integer": int,
    "Float": (int, float),
    "Boolean": bool,
}
STEP_TYPES = frozenset(
    {
        "Processing",
        "Training",
        "Transform",
        "Tuning",
        "CreateModel",
        "RegisterModel",
        "Condition",
        "Fail",
        "Lambda",
        "Callback",
        "QualityCheck",
        "ClarifyCheck",
        "EMR",
    }
)
EXECUTION_VARIABLES = frozenset(
    {
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "PipelineName",
        "PipelineArn",
        "StartDateTime",
        "CurrentDateTime",
    }
)
RETRY_EXCEPTION_TYPES = frozenset(RETRYABLE_JOB_ERRORS + RETRYABLE_STEP_ERRORS)
_OUTPUT_REF = re.compile(r"^ProcessingOutputConfig\.Outputs\['([^']+)'\]\.")
_PROPERTY_FILE_REF = re.compile(r"^PropertyFiles\.([A-Za-z0-9\-_]+)$")


def _references(value: Any) -> Iterator[str]:
    """Every ``{"Get": ...}`` path inside a value, at any depth."""
    if isinstance(value, Mapping):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
            return
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _functions(value: Any) -> Iterator[tuple[str, Any]]:
    """Every ``{"Std:...": ...}`` function call inside a value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("Std:"):
                yield key, item
            yield from _functions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _functions(item)


def _outputs(step: Mapping[str, Any]) -> set[str]:
    config = step.get("Arguments", {}).get("ProcessingOutputConfig", {})
    return {str(o.get("OutputName")) for o in config.get("Outputs", [])}


def _check_parameters(definition: Mapping[str, Any], problems: list[str]) -> set[str]:
    names: set[str] = set()
    for parameter in definition.get("Parameters", []):
        name, kind = parameter.get("Name"), parameter.get("Type", "String")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(f"parameter name {name!r} must match {NAME.pattern}")
        elif name in names:
            problems.append(f"parameter {name!r} is declared twice")
        names.add(str(name))
        if kind not in PARAMETER_TYPES:
            problems.append(f"parameter {name!r} has unknown type {kind!r}")
        elif "DefaultValue" in parameter and not isinstance(
            parameter["DefaultValue"], PARAMETER_TYPES[kind]
        ):
            problems.append(f"parameter {name!r}: its default is not a {kind}")
    return names


def _check_retry(step_name: str, step: Mapping[str, Any], problems: list[str]) -> None:
    for policy in step.get("RetryPolicies", []):
        kinds = policy.get("ExceptionType") or []
        unknown = sorted(set(kinds) - RETRY_EXCEPTION_TYPES)
        if not kinds or unknown:
            problems.append(f"step {step_name!r}: retry exception types {unknown or kinds!r}")
        if len({k.split(".")[0] for k in kinds}) > 1:
            problems.append(f"step {step_name!r}: a retry policy mixes Step.* and SageMaker.*")
        attempts, expire = policy.get("MaxAttempts"), policy.get("ExpireAfterMin")
        if (attempts is None) == (expire is None):
            problems.append(f"step {step_name!r}: give MaxAttempts or ExpireAfterMin")
        if attempts is not None and not (isinstance(attempts, int) and 1 <= attempts <= 20):
            problems.append(f"step {step_name!r}: MaxAttempts must be 1 to 20")
        for key in ("IntervalSeconds", "BackoffRate"):
            if not isinstance(policy.get(key, 0), int | float) or policy.get(key, 0) < 0:
                problems.append(f"step {step_name!r}: {key} must be a number >= 0")


def definition_problems(definition: Mapping[str, Any]) -> list[str]:
    """What is wrong with a pipeline definition (an empty list: nothing found)."""
    problems: list[str] = []
    if definition.get("Version") != "2020-12-01":
        problems.append("Version must be '2020-12-01'")
    parameters = _check_parameters(definition, problems)
    steps = {str(s.get("Name")): s for s in definition.get("Steps", [])}
    if not steps:
        problems.append("a pipeline needs at least one step")
    if len(steps) != len(definition.get("Steps", [])):
        problems.append("step names must be unique")
    used: set[str] = set()
    for name, step in steps.items():
        if not NAME.match(name):
            problems.append(f"step name {name!r} must match {NAME.pattern}")
        if step.get("Type") not in STEP_TYPES:
            problems.append(f"step {name!r} has unknown type {step.get('Type')!r}")
        for file in step.get("PropertyFiles", []):
            if file.get("OutputName") not in _outputs(step):
                problems.append(f"step {name!r}: property file of unknown output {file!r}")
        _check_retry(name, step, problems)
        for path in _references(step):
            root, _, rest = path.partition(".")
            if root == "Parameters":
                used.add(rest)
                if rest not in parameters:
                    problems.append(f"step {name!r} uses undeclared parameter {rest!r}")
            elif root == "Execution":
                if rest not in EXECUTION_VARIABLES:
                    problems.append(f"step {name!r} uses unknown execution variable {rest!r}")
            elif root == "Steps":
                problems += _step_reference_problems(name, rest, steps)
            else:
                problems.append(f"step {name!r}: unknown reference {path!r}")
        for function, body in _functions(step):
            if function == "Std:JsonGet" and not (
                isinstance(body, Mapping) and "PropertyFile" in body and "Path" in body
            ):
                problems.append(f"step {name!r}: Std:JsonGet needs PropertyFile and Path")
            if function == "Std:Join" and not (
                isinstance(body, Mapping) and isinstance(body.get("Values"), list)
            ):
                problems.append(f"step {name!r}: Std:Join needs On and a list of Values")
    for unused in sorted(parameters - used):
        problems.append(f"parameter {unused!r} is declared but no step uses it")
    return problems


def _step_reference_problems(
    referrer: str, path: str, steps: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    target_name, _, rest = path.partition(".")
    target = steps.get(target_name)
    if target is None:
        return [f"step {referrer!r} refers to unknown step {target_name!r}"]
    if target_name == referrer:
        return [f"step {referrer!r} refers to itself"]
    output = _OUTPUT_REF.match(rest)
    if output and output.group(1) not in _outputs(target):
        return [f"step {referrer!r} refers to unknown output {output.group(1)!r} of {target_name}"]
    file = _PROPERTY_FILE_REF.match(rest)
    known = {str(f.get("PropertyFileName")) for f in target.get("PropertyFiles", [])}
    if file and file.group(1) not in known:
        return [f"step {referrer!r} refers to unknown property file {file.group(1)!r}"]
    return []
