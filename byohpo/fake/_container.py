"""A job's container as SageMaker's framework containers set it up (sagemaker-training-toolkit).

A local directory per job stands in for ``/opt/ml``: ``input/config`` holds
``hyperparameters.json``, ``resourceconfig.json`` and ``inputdataconfig.json``,
``input/data/<channel>`` the downloaded channels, ``code`` the unpacked source directory,
and ``model``, ``output/data`` and ``checkpoints`` what the script writes. The script runs as
the toolkit runs it: ``<python> <entry point> --name value ...`` from the code directory,
with the ``SM_*`` environment.

SageMaker mounts the checkpoint directory at ``/opt/ml/checkpoints``, which a local run
cannot do, so its path is also given as ``SM_CHECKPOINT_DIR``; an entry point that reads
``os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")`` works in both places.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRAM_PARAM = "sagemaker_program"
SUBMIT_DIR_PARAM = "sagemaker_submit_directory"
_SAGEMAKER_PREFIX = "sagemaker_"
CURRENT_HOST = "algo-1"
DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"

_HIDDEN_FROM_SCRIPTS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)
"""Credentials a dry run's script must not inherit: it must never reach a real account."""


@dataclass(frozen=True)
class Workspace:
    """The local stand-in for one job's ``/opt/ml``."""

    root: Path
    checkpoint_local_path: str = DEFAULT_CHECKPOINT_PATH

    @property
    def code_dir(self) -> Path:
        return self.root / "code"

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def config_dir(self) -> Path:
        return self.root / "input" / "config"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def intermediate_dir(self) -> Path:
        return self.root / "output" / "intermediate"

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def checkpoint_dir(self) -> Path:
        """Where ``CheckpointConfig.LocalPath`` lands (``/opt/ml/checkpoints`` by default)."""
        local = self.checkpoint_local_path or DEFAULT_CHECKPOINT_PATH
        if local.rstrip("/") == DEFAULT_CHECKPOINT_PATH:
            return self.root / "checkpoints"
        relative = local.removeprefix("/opt/ml/").lstrip("/")
        return self.root / relative

    def channel_dir(self, channel: str) -> Path:
        return self.root / "input" / "data" / channel

    def create(self) -> None:
        for path in (
            self.code_dir,
            self.config_dir,
            self.model_dir,
            self.output_data_dir,
            self.intermediate_dir,
            self.checkpoint_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)


def decode_hyperparameters(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """Each value JSON-decoded when it is JSON, else kept as the string (as the toolkit does)."""
    decoded: dict[str, Any] = {}
    for name, value in hyperparameters.items():
        try:
            decoded[name] = json.loads(value)
        except (TypeError, ValueError):
            decoded[name] = value
    return decoded


def user_hyperparameters(decoded: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters the script receives: all but SageMaker's ``sagemaker_*`` ones."""
    return {k: v for k, v in decoded.items() if not k.startswith(_SAGEMAKER_PREFIX)}


def _arg_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return "" if value is None else str(value)


def command_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """``--name value`` pairs sorted by name (``-n`` for one-letter names), as the toolkit."""
    args: list[str] = []
    for name in sorted(hyperparameters):
        args += [f"--{name}" if len(name) > 1 else f"-{name}", _arg_value(hyperparameters[name])]
    return args


def command(python: str, entry_point: str, args: Sequence[str]) -> list[str]:
    """The command the toolkit runs for an entry point (a Python file or a shell script)."""
    if entry_point.endswith(".sh"):
        return ["/bin/sh", "-c", " ".join([f"./{entry_point}", *args])]
    return [python, entry_point, *args]


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def resource_config(instance_type: str, instance_count: int) -> dict[str, Any]:
    hosts = [f"algo-{i}" for i in range(1, max(1, instance_count) + 1)]
    return {
        "current_host": CURRENT_HOST,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": hosts,
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": instance_type,
                "hosts": hosts,
            }
        ],
        "network_interface_name": "eth0",
    }


def input_data_config(channels: Sequence[Mapping[str, Any]], mode: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for channel in channels:
        source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
        entry = {
            "TrainingInputMode": channel.get("InputMode") or mode,
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


@dataclass(frozen=True)
class JobSpec:
    """What the container needs to know of a job."""

    name: str
    arn: str
    region: str
    hyperparameters: Mapping[str, str]
    channels: Sequence[Mapping[str, Any]]
    instance_type: str
    instance_count: int
    input_mode: str
    environment: Mapping[str, str]


def write_config(workspace: Workspace, spec: JobSpec) -> None:
    """The three JSON files SageMaker writes to ``/opt/ml/input/config``."""
    files = {
        "hyperparameters.json": dict(spec.hyperparameters),
        "resourceconfig.json": resource_config(spec.instance_type, spec.instance_count),
        "inputdataconfig.json": input_data_config(spec.channels, spec.input_mode),
    }
    for name, content in files.items():
        (workspace.config_dir / name).write_text(json.dumps(content, indent=2))


def environment(workspace: Workspace, spec: JobSpec, args: Sequence[str]) -> dict[str, str]:
    """The script's environment: the parent's (without AWS credentials), the toolkit's
    ``SM_*`` variables, then the job's own ``Environment``."""
    decoded = decode_hyperparameters(spec.hyperparameters)
    hyperparameters = user_hyperparameters(decoded)
    framework = {k: v for k, v in decoded.items() if k.startswith(_SAGEMAKER_PREFIX)}
    entry_point = str(decoded.get(PROGRAM_PARAM) or "")
    channels = {
        c["ChannelName"]: str(workspace.channel_dir(c["ChannelName"])) for c in spec.channels
    }
    resources = resource_config(spec.instance_type, spec.instance_count)
    training_env: dict[str, Any] = {
        "additional_framework_parameters": {
            k: v for k, v in framework.items() if k not in (PROGRAM_PARAM, SUBMIT_DIR_PARAM)
        },
        "channel_input_dirs": channels,
        "current_host": CURRENT_HOST,
        "current_instance_type": spec.instance_type,
        "framework_module": None,
        "hosts": resources["hosts"],
        "hyperparameters": hyperparameters,
        "input_config_dir": str(workspace.config_dir),
        "input_data_config": input_data_config(spec.channels, spec.input_mode),
        "input_dir": str(workspace.input_dir),
        "is_master": True,
        "job_name": spec.name,
        "log_level": 20,
        "master_hostname": CURRENT_HOST,
        "model_dir": str(workspace.model_dir),
        "module_dir": str(decoded.get(SUBMIT_DIR_PARAM) or workspace.code_dir),
        "module_name": entry_point.removesuffix(".py"),
        "network_interface_name": "eth0",
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "output_data_dir": str(workspace.output_data_dir),
        "output_dir": str(workspace.output_dir),
        "output_intermediate_dir": str(workspace.intermediate_dir),
        "resource_config": resources,
        "user_entry_point": entry_point,
    }
    env = {k: v for k, v in os.environ.items() if k not in _HIDDEN_FROM_SCRIPTS}
    # Without credentials a script's boto3 call fails rather than reaching a real account.
    env.update(
        {
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update({f"SM_{k.upper()}": _env_value(v) for k, v in training_env.items()})
    env.update(
        {
            "SM_HPS": _env_value(hyperparameters),
            "SM_CHANNELS": _env_value(sorted(channels)),
            "SM_USER_ARGS": _env_value(list(args)),
            "SM_FRAMEWORK_PARAMS": _env_value(training_env["additional_framework_parameters"]),
            "SM_TRAINING_ENV": json.dumps(training_env, sort_keys=True),
            "SM_CHECKPOINT_DIR": str(workspace.checkpoint_dir),
            "TRAINING_JOB_NAME": spec.name,
            "TRAINING_JOB_ARN": spec.arn,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"SM_CHANNEL_{name.upper()}": path for name, path in channels.items()})
    env.update({f"SM_HP_{name.upper()}": _env_value(v) for name, v in hyperparameters.items()})
    env.update(spec.environment)
    return env


def interpreter(python: str | Mapping[str, str] | None, image: str | None) -> str:
    """The Python that runs a job whose training image is ``image``.

    ``python`` is one interpreter for every job, or a mapping from image URI to
    interpreter: an exact URI first, then the longest key contained in the URI (such as
    ``"mxnet-training"``), then the key ``"*"``; the current interpreter otherwise.
    """
    if python is None:
        return sys.executable
    if isinstance(python, str):
        return python
    image = image or ""
    if image in python:
        return python[image]
    contained = [key for key in python if key and key != "*" and key in image]
    if contained:
        return python[max(contained, key=len)]
    return python.get("*", sys.executable)
