"""A study as a SageMaker Pipelines step: the pipeline definition, built offline.

The step is a **Processing** step whose container runs ``byohpo pipeline step
s3://.../study.toml``, which runs the study (its trials are SageMaker training jobs,
as from a notebook) and leaves its results in the step's output. A Processing step
rather than a Training step, because:

- its outputs are plain files uploaded as they are (``results.csv``,
  ``results.parquet``, ``best.json``), each addressable by the next step through
  ``ProcessingOutputConfig.Outputs['results']``; a Training step would pack them into
  one ``model.tar.gz``;
- only a Processing step has *property files*: the next step can read a single value
  of ``best.json`` (``Std:JsonGet``), e.g. the best learning rate, in its own arguments;
- it runs any command (``ContainerEntrypoint``) with no training toolkit in the image.

Its limit is 5 days (``MaxRuntimeInSeconds`` 432000); a longer study goes on in the
next execution with ``study_per_execution = false``.

**Resuming on retry.** The study's store is in S3, and the study's name (and store) is
suffixed with the pipeline execution's id (``study_per_execution``, the default, so
every scheduled run is a new study). A step that the retry policy runs again, or an
execution retried with RetryPipelineExecution, has the same execution id: ``byohpo
pipeline step`` finds the study in its store and resumes it (re-attaching the training
jobs still running, never launching one twice) instead of starting over.

**The image.** The container needs byohpo (Python >= 3.11). Either an image with it
installed (``infra/step-image/Dockerfile``: ``python:3.12-slim`` plus ``pip install
byohpo``, pushed to the stack's ECR repository), or any image with Python >= 3.11 and
pip, with ``pip_install = "byohpo==<version>"``: the step then installs it first.

**Why the JSON is written here.** The definition is a small, stable document (the
public pipeline-definition schema): one step, two parameters. Writing it directly
keeps ``byohpo pipeline definition`` offline and free of the SageMaker SDK, a heavy
optional extra whose ``Pipeline.definition()`` also needs a session (and so an AWS
region and credentials) to render.

Layout under the pipeline's S3 prefix (``[pipeline] s3_prefix``, by default
``s3://<job output bucket>/studies/<study>``)::

    study.toml                      the study file the step reads (byohpo pipeline deploy)
    source/<digest>/sourcedir.tar.gz  the training code
    store/<execution id>/events.jsonl the study's store (its memory)
    results/<execution id>/         results.csv, results.parquet, best.json
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from byohpo import __version__
from byohpo import _job_checks as checks
from byohpo.backends._base import study_prefix
from byohpo.errors import JobDefinitionError, StudyFileError

if TYPE_CHECKING:
    from byohpo.study_file import StudyFile

__all__ = [
    "RESULTS_OUTPUT",
    "STEP_NAME",
    "PipelineSettings",
    "best_value",
    "pipeline_definition",
    "results_s3_uri",
]

STEP_NAME = "RunStudy"
RESULTS_OUTPUT = "results"
BEST_FILE = "BestHyperparameters"
"""The property file over ``best.json`` (see :func:`best_value`)."""
RESULTS_LOCAL_PATH = "/opt/ml/processing/output/results"
PARAMETER_STUDY_FILE = "StudyFile"
PARAMETER_INSTANCE_TYPE = "InstanceType"
EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}
DEFINITION_VERSION = "2020-12-01"

RETRYABLE_JOB_ERRORS = (
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
)
"""The step's job failed for SageMaker's own reasons: run the step again (it resumes)."""
RETRYABLE_STEP_ERRORS = ("Step.SERVICE_FAULT", "Step.THROTTLING")
MAX_PROCESSING_SECONDS = 5 * 24 * 3600

PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
SCHEDULE = re.compile(r"^(cron|rate|at)\(.+\)$")
_ECR_REGION = re.compile(r"^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """How a study runs as a pipeline: the ``[pipeline]`` table of its study file.

    ``role`` is the step's role (it runs the study: creates and watches the training
    jobs, passes the job's role, reads and writes the study's S3 prefix);
    ``pipeline_role`` the one SageMaker Pipelines assumes to start the step
    (default: ``role``); ``scheduler_role`` the one EventBridge Scheduler assumes to
    start an execution. The stack of ``infra/`` makes each with least privilege.
    """

    name: str
    role: str
    image_uri: str
    s3_prefix: str
    pipeline_role: str | None = None
    pip_install: str | None = None
    instance_type: str = "ml.t3.medium"
    volume_size_gb: int = 10
    max_runtime_seconds: int = MAX_PROCESSING_SECONDS
    study_per_execution: bool = True
    retry_attempts: int = 3
    region: str | None = None
    schedule: str | None = None
    schedule_timezone: str = "UTC"
    scheduler_role: str | None = None

    @property
    def study_file_uri(self) -> str:
        return f"{self.s3_prefix}/study.toml"

    @property
    def source_prefix(self) -> str:
        return f"{self.s3_prefix}/source"

    @property
    def results_prefix(self) -> str:
        return f"{self.s3_prefix}/results"

    @property
    def execution_role(self) -> str:
        """The role CreatePipeline is given."""
        return self.pipeline_role or self.role

    @classmethod
    def from_study(
        cls, study: StudyFile, overrides: Mapping[str, Any] | None = None
    ) -> PipelineSettings:
        """The settings of a study file's ``[pipeline]`` table; ``overrides`` (not None) win."""
        where = study.uri or str(study.path)
        table = dict(study.tables.get("pipeline") or {})
        table.update({k: v for k, v in (overrides or {}).items() if v is not None})
        known = {f.name: f for f in fields(cls)}
        for key in table:
            if key not in known:
                raise StudyFileError(
                    f"unknown key {key!r} in [pipeline]",
                    None,
                    f"Known keys: {', '.join(sorted(known))}.",
                    path=where,
                    key=f"pipeline.{key}",
                )
        job = study.tuner_args["job"]
        table.setdefault("name", f"byohpo-{study_prefix(study.name)}")
        if "s3_prefix" not in table and job.output_path:
            table["s3_prefix"] = f"s3://{checks.bucket_of(job.output_path)}/studies/{study.name}"
        if "region" not in table:
            match = _ECR_REGION.match(str(table.get("image_uri", "")))
            table["region"] = match.group(1) if match else None
        for required, example in (
            ("role", '"arn:aws:iam::123456789012:role/byohpo-my-study-orchestrator"'),
            ("image_uri", '"123456789012.dkr.ecr.us-east-1.amazonaws.com/byohpo-step:0.1.0"'),
            ("s3_prefix", '"s3://my-bucket/studies/my-study"'),
        ):
            if table.get(required) is None:
                raise StudyFileError(
                    f"a study run as a pipeline needs [pipeline] {required}",
                    "none",
                    f"Add {required} = {example} (the infra/ stack's outputs give it), "
                    f"or pass --{required.replace('_', '-')}.",
                    path=where,
                    key=f"pipeline.{required}",
                )
        if isinstance(table["s3_prefix"], str):
            table["s3_prefix"] = table["s3_prefix"].rstrip("/")
        settings = cls(**table)
        settings._check(where)
        return settings

    def _check(self, where: str) -> None:
        def fail(key: str, must: str, got: object, fix: str) -> StudyFileError:
            return StudyFileError(must, repr(got), fix, path=where, key=f"pipeline.{key}")

        checked: list[tuple[str, Callable[[Any], object]]] = [
            ("role", checks.role_arn),
            ("pipeline_role", checks.role_arn),
            ("scheduler_role", checks.role_arn),
            ("image_uri", checks.image_uri),
            ("s3_prefix", lambda value: checks.s3_uri("s3_prefix", value)),
        ]
        for key, check in checked:
            try:
                if getattr(self, key) is not None:
                    check(getattr(self, key))
            except JobDefinitionError as exc:
                key = f"pipeline.{key}"
                raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key=key) from None
        for key in ("pip_install", "region", "schedule", "schedule_timezone"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise fail(key, "must be a non-empty string", value, "")
        if not isinstance(self.name, str) or not PIPELINE_NAME.match(self.name):
            raise fail(
                "name",
                "a pipeline name is 1 to 256 letters, digits and single hyphens",
                self.name,
                'Give e.g. "byohpo-my-study".',
            )
        if not checks.INSTANCE_TYPE.match(str(self.instance_type)):
            raise fail(
                "instance_type",
                "must be a SageMaker instance type",
                self.instance_type,
                'Give e.g. "ml.t3.medium".',
            )
        for key, low, high in (
            ("volume_size_gb", 1, 16384),
            ("max_runtime_seconds", 1, MAX_PROCESSING_SECONDS),
            ("retry_attempts", 1, 20),
        ):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise fail(key, f"must be a whole number from {low} to {high}", value, "")
        if not isinstance(self.study_per_execution, bool):
            raise fail("study_per_execution", "must be true or false", self.study_per_execution, "")
        if self.schedule is not None and not SCHEDULE.match(str(self.schedule)):
            raise fail(
                "schedule",
                "must be a cron(...), rate(...) or at(...) expression",
                self.schedule,
                'Give e.g. "cron(0 3 * * ? *)" (every day at 03:00).',
            )
        if self.schedule is not None and self.scheduler_role is None:
            raise fail(
                "scheduler_role",
                "a schedule needs the role EventBridge Scheduler assumes",
                None,
                "Give scheduler_role (the stack's SchedulerRoleArn output).",
            )


def study_store(study: StudyFile, settings: PipelineSettings) -> str:
    """Where the step keeps the study's store: its own S3 store, or ``<s3_prefix>/store``."""
    store = study.tuner_args.get("store")
    if isinstance(store, str) and store.startswith("s3://"):
        return store.rstrip("/")
    return f"{settings.s3_prefix}/store"


def step_command(settings: PipelineSettings) -> list[str]:
    """The step container's entry point: ``byohpo pipeline step``, installed first if asked."""
    if settings.pip_install is None:
        return ["byohpo", "pipeline", "step"]
    install = f"python3 -m pip install --quiet --no-cache-dir {shlex.quote(settings.pip_install)}"
    return ["/bin/sh", "-c", f'{install} && exec byohpo pipeline step "$@"', "byohpo-step"]


def results_s3_uri() -> dict[str, str]:
    """A property reference to the S3 prefix holding the step's results, for the next step."""
    path = f"ProcessingOutputConfig.Outputs['{RESULTS_OUTPUT}'].S3Output.S3Uri"
    return {"Get": f"Steps.{STEP_NAME}.{path}"}


def best_value(json_path: str) -> dict[str, Any]:
    """A reference to one value of ``best.json``, e.g. ``"hyperparameters.learning_rate"``."""
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": f"Steps.{STEP_NAME}.PropertyFiles.{BEST_FILE}"},
            "Path": json_path,
        }
    }


def pipeline_definition(
    study: StudyFile,
    settings: PipelineSettings,
    *,
    extra_steps: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The pipeline's definition (JSON-ready): one step that runs the study, then ``extra_steps``.

    Deterministic: the same study and settings always give the same definition.
    """
    results_uri: Any = settings.results_prefix
    arguments: list[Any] = [
        {"Get": f"Parameters.{PARAMETER_STUDY_FILE}"},
        "--store",
        study_store(study, settings),
        "--results-dir",
        RESULTS_LOCAL_PATH,
    ]
    if settings.study_per_execution:
        arguments += ["--run-id", EXECUTION_ID]
        results_uri = {"Std:Join": {"On": "/", "Values": [settings.results_prefix, EXECUTION_ID]}}
    environment = {"PYTHONUNBUFFERED": "1"}
    if settings.region:
        environment["AWS_DEFAULT_REGION"] = settings.region
    step: dict[str, Any] = {
        "Name": STEP_NAME,
        "Type": "Processing",
        "DisplayName": f"Run study {study.name}",
        "Description": f"byohpo {__version__}: runs (or resumes) the study {study.name}",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": {"Get": f"Parameters.{PARAMETER_INSTANCE_TYPE}"},
                    "VolumeSizeInGB": settings.volume_size_gb,
                }
            },
            "AppSpecification": {
                "ImageUri": settings.image_uri,
                "ContainerEntrypoint": step_command(settings),
                "ContainerArguments": arguments,
            },
            "Environment": environment,
            "RoleArn": settings.role,
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": RESULTS_OUTPUT,
                        "S3Output": {
                            "S3Uri": results_uri,
                            "LocalPath": RESULTS_LOCAL_PATH,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_seconds},
        },
        "PropertyFiles": [
            {"PropertyFileName": BEST_FILE, "OutputName": RESULTS_OUTPUT, "FilePath": "best.json"}
        ],
        "RetryPolicies": [
            {
                "ExceptionType": list(RETRYABLE_JOB_ERRORS),
                "IntervalSeconds": 60,
                "BackoffRate": 2.0,
                "MaxAttempts": settings.retry_attempts,
            },
            {
                "ExceptionType": list(RETRYABLE_STEP_ERRORS),
                "IntervalSeconds": 10,
                "BackoffRate": 2.0,
                "MaxAttempts": 5,
            },
        ],
    }
    return {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": [
            {
                "Name": PARAMETER_STUDY_FILE,
                "Type": "String",
                "DefaultValue": settings.study_file_uri,
            },
            {
                "Name": PARAMETER_INSTANCE_TYPE,
                "Type": "String",
                "DefaultValue": settings.instance_type,
            },
        ],
        "Steps": [step, *(dict(s) for s in extra_steps)],
    }
