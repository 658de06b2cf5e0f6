"""Between byohpo's values and SageMaker's API shapes: the CreateTrainingJob request, and
a JobState read from a ListTrainingJobs summary or a DescribeTrainingJob answer."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from byohpo.errors import JobDefinitionError
from byohpo.job import TrainingJob
from byohpo.space import MAX_HYPERPARAMETERS
from byohpo.trial import JobState, JobStatus

STUDY_TAG = "byohpo:study"
TRIAL_TAG = "byohpo:trial"
DEFAULT_CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
_TAG_VALUE_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]")


@dataclass(frozen=True)
class StudyCode:
    """Where a study's code is, as the script-mode hyperparameters name it."""

    program: str
    submit_directory: str


def script_mode_hyperparameters(code: StudyCode, region: str, log_level: int) -> dict[str, str]:
    """The ``sagemaker_*`` hyperparameters the SDK's framework estimators set, JSON-encoded as
    the SDK encodes them (the training toolkit decodes each value as JSON)."""
    return {
        "sagemaker_program": json.dumps(code.program),
        "sagemaker_submit_directory": json.dumps(code.submit_directory),
        "sagemaker_region": json.dumps(region),
        "sagemaker_container_log_level": json.dumps(log_level),
    }


def merged_hyperparameters(
    job: TrainingJob, tuned: Mapping[str, str], script_mode: Mapping[str, str], job_name: str
) -> dict[str, str]:
    """Static, then tuned (a tuned value wins), then script mode's: at most 100 in all."""
    merged = job.static_hyperparameters()
    merged.update(tuned)
    if script_mode:
        merged.update(script_mode)
        merged["sagemaker_job_name"] = json.dumps(job_name)
    if len(merged) > MAX_HYPERPARAMETERS:
        raise JobDefinitionError(
            f"a training job takes at most {MAX_HYPERPARAMETERS} hyperparameters in all "
            "(static, tuned, and script mode's own)",
            f"{len(merged)}",
            "Tune or pass fewer hyperparameters.",
        )
    return merged


def tag_value(text: str) -> str:
    """``text`` with the characters a tag value cannot hold replaced, at most 256 long."""
    return _TAG_VALUE_UNSAFE.sub("_", text)[:256]


def create_training_job_request(
    job: TrainingJob,
    *,
    job_name: str,
    image: str,
    output_path: str,
    hyperparameters: Mapping[str, str],
    tags: Mapping[str, str],
    checkpoint_s3_uri: str | None,
) -> dict[str, Any]:
    """The keyword arguments of ``CreateTrainingJob`` for one trial of ``job``."""
    algorithm: dict[str, Any] = {"TrainingImage": image, "TrainingInputMode": job.input_mode}
    if job.metric_definitions:
        algorithm["MetricDefinitions"] = [
            {"Name": name, "Regex": regex} for name, regex in job.metric_definitions.items()
        ]
    resources: dict[str, Any] = {
        "InstanceType": job.instance_type,
        "InstanceCount": job.instance_count,
        "VolumeSizeInGB": job.volume_size_gb,
    }
    if job.volume_kms_key_id:
        resources["VolumeKmsKeyId"] = job.volume_kms_key_id
    if job.keep_alive_seconds:
        resources["KeepAlivePeriodInSeconds"] = job.keep_alive_seconds
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": job.max_runtime_seconds}
    output: dict[str, Any] = {"S3OutputPath": output_path}
    if job.kms_key_id:
        output["KmsKeyId"] = job.kms_key_id
    request: dict[str, Any] = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": algorithm,
        "RoleArn": job.role,
        "HyperParameters": dict(hyperparameters),
        "OutputDataConfig": output,
        "ResourceConfig": resources,
        "StoppingCondition": stopping,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if job.inputs:
        request["InputDataConfig"] = [
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel, uri in job.inputs.items()
        ]
    if job.environment:
        request["Environment"] = dict(job.environment)
    if job.vpc_config:
        request["VpcConfig"] = {k: list(v) for k, v in job.vpc_config.items()}
    if job.use_spot:
        request["EnableManagedSpotTraining"] = True
        stopping["MaxWaitTimeInSeconds"] = job.max_wait_seconds
    if checkpoint_s3_uri:
        request["CheckpointConfig"] = {
            "S3Uri": checkpoint_s3_uri,
            "LocalPath": job.checkpoint_local_path or DEFAULT_CHECKPOINT_LOCAL_PATH,
        }
    return request


def trial_id_from_name(prefix: str, job_name: str) -> int | None:
    """The trial id in ``<prefix>-t<digits>``, or None if the name is not of this study."""
    match = re.fullmatch(re.escape(prefix) + r"-t(\d{5,})", job_name)
    return int(match.group(1)) if match else None


def state_from_summary(summary: Mapping[str, Any], trial_id: int | None) -> JobState:
    """A JobState from one ``TrainingJobSummaries`` item (no metrics or failure details)."""
    warm = summary.get("WarmPoolStatus") or {}
    return JobState(
        job_name=summary["TrainingJobName"],
        status=JobStatus(summary["TrainingJobStatus"]),
        secondary_status=summary.get("SecondaryStatus"),
        trial_id=trial_id,
        creation_time=summary.get("CreationTime"),
        end_time=summary.get("TrainingEndTime"),
        warm_pool_status=warm.get("Status"),
    )


def state_from_description(description: Mapping[str, Any], trial_id: int | None) -> JobState:
    """A JobState from ``DescribeTrainingJob``: with final metrics, failure reason and billing."""
    warm = description.get("WarmPoolStatus") or {}
    metrics = {
        item["MetricName"]: float(item["Value"])
        for item in description.get("FinalMetricDataList", [])
        if "MetricName" in item and "Value" in item
    }
    return JobState(
        job_name=description["TrainingJobName"],
        status=JobStatus(description["TrainingJobStatus"]),
        secondary_status=description.get("SecondaryStatus"),
        trial_id=trial_id,
        metrics=metrics,
        failure_reason=description.get("FailureReason"),
        creation_time=description.get("CreationTime"),
        start_time=description.get("TrainingStartTime"),
        end_time=description.get("TrainingEndTime"),
        billable_seconds=description.get("BillableTimeInSeconds"),
        training_seconds=description.get("TrainingTimeInSeconds"),
        warm_pool_status=warm.get("Status"),
    )
