"""The rules a training-job template must follow, as SageMaker's CreateTrainingJob states them.

Each function raises :class:`~byohpo.errors.JobDefinitionError` naming the
field, what must hold, what was given and how to fix it.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from byohpo.errors import JobDefinitionError, SearchSpaceError
from byohpo.space import MAX_HYPERPARAMETERS, MAX_VALUE_LENGTH, Value, check_hyperparameter_name

ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9][a-z0-9-]*\.[a-z0-9]+$")
S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/.*)?$")
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")
ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,511}$")
TAG_KEY = re.compile(r"^[\w\s.:/=+\-@]{1,128}$")
TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]{0,256}$")
KMS_KEY = re.compile(r"^[a-zA-Z0-9:/_-]{1,2048}$")
SUBNET = re.compile(r"^subnet-[0-9a-z]+$")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-z]+$")
FRAMEWORK = re.compile(r"^[a-z][a-z0-9\-]*$")

MAX_RUNTIME = 28 * 24 * 3600
"""SageMaker's longest training job: 28 days."""
MAX_KEEP_ALIVE = 3600
"""Warm-pool keep-alive that SageMaker grants by default (an hour)."""
MAX_METRIC_DEFINITIONS = 20
MAX_CHANNELS = 20
MAX_ENVIRONMENT = 100
MAX_USER_TAGS = 48
"""SageMaker takes 50 tags on a job; byohpo adds ``byohpo:study`` and ``byohpo:trial``."""
RESERVED_HYPERPARAMETERS = 5
"""Script mode adds sagemaker_program, _submit_directory, _region, _container_log_level
and _job_name."""
MAX_REGEX_LENGTH = 500
SAMPLE_NUMBERS = ("0.5", "1", "95.25", "-0.5", "1e-05", "0.123456", "3.0E+2")


def mapping(name: str, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobDefinitionError(
            f"{name} must be a mapping of names to values",
            repr(value),
            f'Write e.g. {name}={{"key": "value"}}.',
        )
    for key in value:
        if not isinstance(key, str):
            raise JobDefinitionError(
                f"the keys of {name} must be strings", repr(key), "Use string keys."
            )
    return dict(value)


def s3_uri(name: str, value: object) -> str:
    if not isinstance(value, str) or not S3_URI.match(value) or len(value) > 1024:
        raise JobDefinitionError(
            f"{name} must be an S3 URI s3://bucket/prefix (bucket: 3-63 lowercase letters, "
            "digits, dots or hyphens; at most 1024 characters)",
            repr(value),
            f"Give e.g. {name}='s3://my-bucket/byohpo'.",
        )
    return value


def bucket_of(uri: str) -> str:
    """The bucket of an S3 URI already checked by :func:`s3_uri`."""
    return uri[len("s3://") :].split("/", 1)[0]


def entry_point(entry: str, source: str | None, *, check_files: bool) -> None:
    if not isinstance(entry, str) or not entry.strip():
        raise JobDefinitionError(
            "entry_point must name the training script", repr(entry), "Give e.g. 'train.py'."
        )
    if source is None:
        if check_files and not Path(entry).is_file():
            raise JobDefinitionError(
                "entry_point must be an existing file when source_dir is not given",
                f"{entry!r} (from {Path.cwd()})",
                "Fix the path, or give source_dir and entry_point relative to it.",
            )
        return
    if not isinstance(source, str) or not source.strip():
        raise JobDefinitionError(
            "source_dir must be a directory or the S3 URI of a sourcedir.tar.gz",
            repr(source),
            "Give e.g. source_dir='entry_points'.",
        )
    relative = PurePosixPath(Path(entry).as_posix())
    if relative.is_absolute() or ".." in relative.parts:
        raise JobDefinitionError(
            "with source_dir, entry_point must be a path relative to source_dir, inside it",
            repr(entry),
            f"Give the script's path inside {source!r}, e.g. {relative.name!r}.",
        )
    if source.startswith("s3://"):
        s3_uri("source_dir", source)
        if not source.endswith(".tar.gz"):
            raise JobDefinitionError(
                "an S3 source_dir must be the URI of a .tar.gz archive of the code",
                repr(source),
                "Give e.g. 's3://bucket/code/sourcedir.tar.gz', or a local directory.",
            )
        return
    if not check_files:
        return
    directory = Path(source)
    if not directory.is_dir():
        raise JobDefinitionError(
            "source_dir must be an existing directory",
            f"{source!r} (from {Path.cwd()})",
            "Fix the path (relative paths start from the current directory).",
        )
    if not (directory / entry).is_file():
        scripts = sorted(p.name for p in directory.glob("*.py"))
        raise JobDefinitionError(
            "entry_point must be a file inside source_dir",
            f"no {entry!r} in {source!r}"
            + (f" (it has {', '.join(scripts[:8])})" if scripts else ""),
            "Fix entry_point or source_dir.",
        )


def image_uri(value: object) -> None:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > 255
        or any(c.isspace() for c in value)
    ):
        raise JobDefinitionError(
            "image_uri must be a container image URI of at most 255 characters, without spaces",
            repr(value),
            "Give e.g. '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-image:latest'.",
        )


def framework(name: object, version: object, py_version: object) -> None:
    if not isinstance(name, str) or not FRAMEWORK.match(name):
        raise JobDefinitionError(
            "framework must be the SageMaker SDK's name of a framework, in lowercase",
            repr(name),
            "Use e.g. 'sklearn', 'pytorch', 'tensorflow', 'xgboost' or 'mxnet'.",
        )
    for field, value in (("framework_version", version), ("py_version", py_version)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise JobDefinitionError(
                f"{field} must be a version string or None",
                repr(value),
                f"Give e.g. {field}='1.2-1'"
                if field == "framework_version"
                else "Give e.g. 'py3'.",
            )


def role_arn(value: object) -> None:
    if not isinstance(value, str) or not ROLE_ARN.match(value) or not 20 <= len(value) <= 2048:
        fix = "Give the ARN of an IAM role SageMaker can assume, e.g. "
        fix += "'arn:aws:iam::123456789012:role/SageMakerRole'"
        if isinstance(value, str) and value and ":" not in value:
            fix += f" (a role name such as {value!r} must be written as its full ARN)"
        raise JobDefinitionError(
            "role must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>",
            repr(value),
            fix + ". In a SageMaker notebook, sagemaker.get_execution_role() gives it.",
        )


def instance(instance_type: object, count: object, volume_gb: object) -> None:
    if not isinstance(instance_type, str) or not INSTANCE_TYPE.match(instance_type):
        local = isinstance(instance_type, str) and instance_type.startswith("local")
        raise JobDefinitionError(
            "instance_type must be a SageMaker training instance type, ml.<family>.<size>",
            repr(instance_type),
            "For a local dry run use byohpo.FakeSageMaker() as the backend and keep an ml.* type."
            if local
            else "Give e.g. 'ml.m5.large' or 'ml.g5.xlarge'.",
        )
    known = training_instance_types()
    if known and instance_type not in known:
        import botocore

        close = difflib.get_close_matches(instance_type, sorted(known), n=3, cutoff=0.75)
        family = instance_type.rsplit(".", 1)[0] + "."
        close += [t for t in sorted(known) if t.startswith(family) and t not in close][:4]
        hint = f"Did you mean {' or '.join(repr(t) for t in close[:4])}? " if close else ""
        raise JobDefinitionError(
            "instance_type must be one of SageMaker's training instance types",
            repr(instance_type),
            f"{hint}(Checked against the list in botocore {botocore.__version__}; should AWS "
            "have added this type since, upgrade boto3.)",
        )
    _whole("instance_count", count, 1)
    _whole("volume_size_gb", volume_gb, 1)


@functools.cache
def training_instance_types() -> frozenset[str]:
    """The training instance types SageMaker's API model lists (empty if it cannot be read)."""
    try:
        import botocore.session

        model = botocore.session.get_session().get_service_model("sagemaker")
        shape: Any = model.shape_for("TrainingInstanceType")
        return frozenset(shape.enum)
    except Exception:  # an unreadable model must not stop a study: SageMaker checks it too
        return frozenset()


def _whole(name: str, value: object, minimum: int, maximum: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if ok and maximum is not None:
        ok = value <= maximum  # type: ignore[operator]
    if not ok:
        bounds = f"{minimum} <= {name}" + (f" <= {maximum}" if maximum is not None else "")
        raise JobDefinitionError(
            f"{name} must be a whole number with {bounds}", repr(value), "Fix the value."
        )


def seconds(name: str, value: object, minimum: int, maximum: int) -> None:
    _whole(name, value, minimum, maximum)


def inputs(channels: Mapping[str, Any], input_mode: object) -> None:
    if len(channels) > MAX_CHANNELS:
        raise JobDefinitionError(
            f"a training job takes at most {MAX_CHANNELS} input channels",
            f"{len(channels)}",
            "Merge channels under common S3 prefixes.",
        )
    for channel, uri in channels.items():
        if not CHANNEL_NAME.match(channel):
            raise JobDefinitionError(
                "an input channel name must be 1-64 letters, digits, dots, hyphens or underscores",
                repr(channel),
                "Rename the channel, e.g. 'train'.",
            )
        s3_uri(f"inputs[{channel!r}]", uri)
    if input_mode not in ("File", "FastFile", "Pipe"):
        raise JobDefinitionError(
            "input_mode must be 'File', 'FastFile' or 'Pipe'", repr(input_mode), "Fix it."
        )


def metric_definitions(definitions: Mapping[str, Any]) -> None:
    if len(definitions) > MAX_METRIC_DEFINITIONS:
        raise JobDefinitionError(
            f"a training job takes at most {MAX_METRIC_DEFINITIONS} metric definitions",
            f"{len(definitions)}",
            "Keep the metrics the study needs.",
        )
    for name, regex in definitions.items():
        if not 1 <= len(name) <= 255:
            raise JobDefinitionError(
                "a metric name must have 1 to 255 characters", repr(name), "Rename it."
            )
        metric_regex(name, regex)


def metric_regex(name: str, regex: object) -> re.Pattern[str]:
    """Check one metric regex: it compiles and captures exactly one number-like group."""
    example = r"Validation-accuracy=([0-9\.]+)"
    if not isinstance(regex, str) or not 1 <= len(regex) <= MAX_REGEX_LENGTH:
        raise JobDefinitionError(
            f"the regex of metric {name!r} must be a string of 1 to {MAX_REGEX_LENGTH} characters",
            repr(regex) if not isinstance(regex, str) else f"{len(regex)} characters",
            f"Give e.g. {example!r}.",
        )
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise JobDefinitionError(
            f"the regex of metric {name!r} must be a valid regular expression",
            f"{regex!r} ({exc})",
            f"Fix the regex, e.g. {example!r}.",
        ) from None
    if pattern.groups != 1:
        raise JobDefinitionError(
            f"the regex of metric {name!r} must have exactly one capture group: "
            "SageMaker reads the metric's value from it",
            f"{regex!r} with {pattern.groups} groups",
            "Put parentheses around the number only, and make other groups non-capturing "
            f"with (?:...), e.g. {example!r}.",
        )
    group = _capture_group_text(regex)
    if group is not None and not _captures_a_number(group):
        raise JobDefinitionError(
            f"the capture group of metric {name!r} must be able to capture a number "
            f"such as {', '.join(SAMPLE_NUMBERS[:3])}",
            f"({group}) in {regex!r}",
            r"Capture the digits, e.g. ([0-9\.]+) or ([-+0-9.eE]+).",
        )
    return pattern


def _capture_group_text(regex: str) -> str | None:
    """The text inside the one capturing group, or None if it cannot be found plainly."""
    depth = 0
    start: int | None = None
    start_depth = 0
    in_class = False
    i = 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
            capturing = not regex.startswith("(?", i) or regex.startswith(("(?P<", "(?<"), i)
            if regex.startswith(("(?<=", "(?<!"), i):
                capturing = False
            if capturing and start is None:
                start, start_depth = i + 1, depth
                if regex.startswith("(?P<", i) or regex.startswith("(?<", i):
                    start = regex.index(">", i) + 1
        elif ch == ")":
            if start is not None and depth == start_depth:
                return regex[start:i]
            depth -= 1
        i += 1
    return None


def _captures_a_number(group: str) -> bool:
    try:
        inner = re.compile(group)
    except re.error:
        return True  # not checkable on its own (e.g. a backreference); SageMaker will tell
    return any(inner.fullmatch(text) for text in SAMPLE_NUMBERS)


def hyperparameters(values: Mapping[str, Value]) -> None:
    limit = MAX_HYPERPARAMETERS - RESERVED_HYPERPARAMETERS
    if len(values) > limit:
        raise JobDefinitionError(
            f"a training job takes at most {limit} hyperparameters besides the "
            f"{RESERVED_HYPERPARAMETERS} that script mode adds",
            f"{len(values)}",
            "Pass fewer static hyperparameters (e.g. one JSON string holding several).",
        )
    for name, value in values.items():
        try:
            check_hyperparameter_name(name)
        except SearchSpaceError as exc:
            raise JobDefinitionError(f"hyperparameters: {exc.must}", exc.got, exc.fix) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise JobDefinitionError(
                f"hyperparameter {name!r} must be finite", repr(value), "Give a finite value."
            )
        if not isinstance(value, str | int | float | bool):
            raise JobDefinitionError(
                f"hyperparameter {name!r} must be a string, number or bool",
                f"{value!r} of type {type(value).__name__}",
                "Convert it, e.g. to a JSON string.",
            )
        if len(str(value)) > MAX_VALUE_LENGTH:
            raise JobDefinitionError(
                f"the value of hyperparameter {name!r} must have at most {MAX_VALUE_LENGTH} "
                "characters",
                f"{len(str(value))} characters",
                "Put large values in an input channel instead.",
            )


def environment(variables: Mapping[str, Any]) -> None:
    if len(variables) > MAX_ENVIRONMENT:
        raise JobDefinitionError(
            f"a training job takes at most {MAX_ENVIRONMENT} environment variables",
            f"{len(variables)}",
            "Pass fewer variables.",
        )
    for name, value in variables.items():
        if not ENV_NAME.match(name):
            raise JobDefinitionError(
                "an environment variable name must be letters, digits and underscores, "
                "not starting with a digit",
                repr(name),
                "Rename the variable.",
            )
        if not isinstance(value, str) or len(value) > 512:
            raise JobDefinitionError(
                f"environment variable {name!r} must be a string of at most 512 characters",
                repr(value)[:80],
                "Convert it to a shorter string.",
            )


def tags(values: Mapping[str, Any]) -> None:
    if len(values) > MAX_USER_TAGS:
        raise JobDefinitionError(
            f"a training job takes at most {MAX_USER_TAGS} tags besides byohpo's own two",
            f"{len(values)}",
            "Drop some tags.",
        )
    for key, value in values.items():
        if key.lower().startswith(("aws:", "byohpo:")) or not TAG_KEY.match(key):
            raise JobDefinitionError(
                "a tag key must be 1-128 letters, digits, spaces or _.:/=+-@, and must not start "
                "with 'aws:' or 'byohpo:' (reserved)",
                repr(key),
                "Rename the tag.",
            )
        if not isinstance(value, str) or not TAG_VALUE.match(value):
            raise JobDefinitionError(
                f"tag {key!r} must have a string value of at most 256 letters, digits, "
                "spaces or _.:/=+-@",
                repr(value),
                "Fix the tag's value.",
            )


def vpc_config(value: object) -> dict[str, list[str]] | None:
    """The API's form (Subnets, SecurityGroupIds), also read from the SDK's (subnets, ...)."""
    if value is None:
        return None
    aliases = {"subnets": "Subnets", "security_group_ids": "SecurityGroupIds"}
    example = "vpc_config={'Subnets': ['subnet-0abc'], 'SecurityGroupIds': ['sg-0abc']}"
    if not isinstance(value, Mapping):
        raise JobDefinitionError("vpc_config must be a mapping", repr(value), f"Write {example}.")
    result: dict[str, list[str]] = {}
    for key, items in value.items():
        canonical = aliases.get(key, key)
        if canonical not in ("Subnets", "SecurityGroupIds"):
            raise JobDefinitionError(
                "vpc_config takes Subnets and SecurityGroupIds", repr(key), f"Write {example}."
            )
        if isinstance(items, str) or not isinstance(items, list | tuple):
            raise JobDefinitionError(
                f"vpc_config[{canonical!r}] must be a list", repr(items), f"Write {example}."
            )
        result[canonical] = [str(item) for item in items]
    subnets, groups = result.get("Subnets", []), result.get("SecurityGroupIds", [])
    if not 1 <= len(subnets) <= 16 or not all(SUBNET.match(s) for s in subnets):
        raise JobDefinitionError(
            "vpc_config needs 1 to 16 subnet ids (subnet-...)", repr(subnets), f"Write {example}."
        )
    if not 1 <= len(groups) <= 5 or not all(SECURITY_GROUP.match(g) for g in groups):
        raise JobDefinitionError(
            "vpc_config needs 1 to 5 security group ids (sg-...)", repr(groups), f"Write {example}."
        )
    return result


def kms_key(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not KMS_KEY.match(value)):
        raise JobDefinitionError(
            f"{name} must be a KMS key id, alias or ARN",
            repr(value),
            "Give e.g. 'arn:aws:kms:us-east-1:123456789012:key/<id>' or 'alias/my-key'.",
        )


def log_level(value: object) -> None:
    _whole("container_log_level", value, 0, 50)
