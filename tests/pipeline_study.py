"""A small study as a pipeline step sees it: its file and code in (the fake) S3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from byohpo.pipeline._definition import PipelineSettings
from byohpo.pipeline._deploy import code_archive, source_uri_for, step_study_text
from byohpo.study_file import StudyFile, load_study_file

ACCOUNT = "123456789012"
SCRIPT = """
import argparse
p = argparse.ArgumentParser()
p.add_argument("--width", type=float)
p.add_argument("--kind")
a, _ = p.parse_known_args()
print(f"Validation-accuracy={1 - (a.width - 0.3) ** 2 - (0 if a.kind == 'b' else 0.1):.6f}")
"""

STUDY = """
[study]
name = "{name}"
strategy = "random"
max_jobs = 4
max_parallel_jobs = 2
seed = 3
poll_interval = 0.05

[objective]
metric = "validation:accuracy"

[job]
entry_point = "score.py"
source_dir = "src"
image_uri = "{account}.dkr.ecr.us-east-1.amazonaws.com/score:1"
role = "arn:aws:iam::{account}:role/byohpo-{name}-training"
instance_type = "ml.m5.large"
output_path = "s3://{bucket}/output"
checkpoint_s3_uri = "s3://{bucket}/checkpoints"
environment = {{ {environment} }}

[job.metric_definitions]
"validation:accuracy" = 'Validation-accuracy=([-0-9\\.]+)'

[space]
width = {{ type = "continuous", min = 0.0, max = 1.0 }}
kind = {{ type = "categorical", values = ["a", "b"] }}

[pipeline]
role = "arn:aws:iam::{account}:role/byohpo-{name}-orchestrator"
pipeline_role = "arn:aws:iam::{account}:role/byohpo-{name}-pipeline"
image_uri = "{account}.dkr.ecr.us-east-1.amazonaws.com/byohpo-step-{name}:1"
s3_prefix = "s3://{bucket}/studies/{name}"
"""


def write_study(
    directory: Path,
    *,
    name: str = "tiny",
    bucket: str = "byohpo-tests",
    environment: dict[str, str] | None = None,
) -> StudyFile:
    """A study file (and its script) in ``directory``, read back."""
    source = directory / "src"
    source.mkdir(parents=True, exist_ok=True)
    (source / "score.py").write_text(SCRIPT)
    pairs = ", ".join(f'{k} = "{v}"' for k, v in (environment or {}).items())
    text = STUDY.format(name=name, bucket=bucket, account=ACCOUNT, environment=pairs)
    path = directory / f"{name}.toml"
    path.write_text(text)
    return load_study_file(path)


def upload_study(study: StudyFile, s3: Any, **overrides: Any) -> PipelineSettings:
    """Put the study's file and code where ``byohpo pipeline deploy`` puts them."""
    settings = PipelineSettings.from_study(study, overrides)
    archive = code_archive(study)
    assert archive is not None
    source_uri = source_uri_for(archive, settings)
    for uri, body in (
        (source_uri, archive),
        (settings.study_file_uri, step_study_text(study, settings, source_uri).encode()),
    ):
        bucket, _, key = uri[len("s3://") :].partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return settings


def accuracy(hyperparameters: Any) -> dict[str, float]:
    """The script's objective, for the fake's instant mode."""
    width = float(hyperparameters["width"])
    return {"validation:accuracy": 1 - (width - 0.3) ** 2}
