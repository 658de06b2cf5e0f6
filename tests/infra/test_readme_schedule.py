"""The README's "Run it on a schedule", done as written against the fake AWS.

The stack is deployed into moto's CloudFormation; the study file is the example with the
README's tables; every ``byohpo`` command of the section runs as written; ``aws`` commands
are replaced by the same calls through boto3 where moto can answer them.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from byohpo.backends._sagemaker import SageMakerBackend
from byohpo.cli import main
from byohpo.fake import FakeSageMaker
from byohpo.pipeline._checks import definition_problems
from byohpo.pipeline._study_toml import dump_study
from tests.infra.template import deploy_into_moto, load_template

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digits-ga.toml"


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("\n## Run it on a schedule\n", 1)[1].split("\n## ", 1)[0]


def blocks(text: str, language: str = "") -> list[str]:
    """The fenced code blocks of a Markdown text written in ``language`` ("": shell)."""
    found: list[str] = []
    current: list[str] | None = None
    keep = False
    for line in text.splitlines():
        if not line.startswith("```"):
            if current is not None:
                current.append(line)
        elif current is None:
            current, keep = [], line[3:].strip() == language
        else:
            if keep:
                found.append("\n".join(current) + "\n")
            current = None
    return found


def commands(program: str) -> list[str]:
    """The section's shell commands that start with ``program``, continuation lines joined."""
    text = "".join(blocks(section())).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.startswith(f"{program} ")]


def instant_metrics(hyperparameters: Any) -> dict[str, float]:
    rate = float(hyperparameters["learning_rate"])
    return {
        "validation:accuracy": 1 - abs(rate - 0.01),
        "validation:loss": rate,
        "train:seconds": 1,
    }


class QuickSageMakerBackend(SageMakerBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_poll_interval=0.01, list_calls_per_second=None, **kwargs)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMaker]:
    # `byohpo pipeline step` makes the production backend, which the active fake answers
    monkeypatch.setattr("byohpo.backends._sagemaker.SageMakerBackend", QuickSageMakerBackend)
    with FakeSageMaker(instant=True, metrics_fn=instant_metrics, check_roles=True) as fake:
        yield fake


def test_the_stack_commands_name_the_template_s_parameters_and_outputs() -> None:
    template = load_template()
    deploy, describe = commands("aws cloudformation")[:2]
    assert "--template-file infra/template.yaml" in deploy
    assert "--capabilities CAPABILITY_NAMED_IAM" in deploy
    overrides = deploy.split("--parameter-overrides", 1)[1].split()
    assert {o.split("=")[0] for o in overrides} <= set(template["Parameters"])
    assert "describe-stacks" in describe
    keys = tomllib.loads(blocks(section(), "toml")[0])
    assert set(keys) == {"job", "pipeline"}


def test_the_walkthrough_runs_as_written(
    fake: FakeSageMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = deploy_into_moto("digits-ga")
    snippet = tomllib.loads(blocks(section(), "toml")[0])
    assert snippet["job"]["role"] == outputs["TrainingRoleArn"]
    assert snippet["job"]["output_path"] == outputs["OutputPath"]
    assert snippet["job"]["checkpoint_s3_uri"] == outputs["CheckpointPath"]
    assert snippet["pipeline"]["role"] == outputs["OrchestratorRoleArn"]
    assert snippet["pipeline"]["pipeline_role"] == outputs["PipelineRoleArn"]
    assert snippet["pipeline"]["s3_prefix"] == outputs["StudyPrefix"]
    assert snippet["pipeline"]["image_uri"].startswith(outputs["StepImageRepositoryUri"] + ":")

    tables = tomllib.loads(EXAMPLE.read_text())
    tables["job"].update(snippet["job"])
    tables["job"]["source_dir"] = str(ROOT / "entry_points")
    tables["pipeline"] = snippet["pipeline"]
    (tmp_path / "study.toml").write_text(dump_study(tables))
    monkeypatch.chdir(tmp_path)

    run = commands("byohpo")
    assert [c.split()[1:3] for c in run] == [
        ["pipeline", "definition"],
        ["pipeline", "deploy"],
        [
            "results",
            "s3://byohpo-digits-ga-123456789012-us-east-1/studies/digits-ga/store/<execution",
        ],
    ]
    definition, deploy, results = run
    assert main(shlex.split(definition)[1:]) == 0
    assert main(shlex.split(deploy)[1:]) == 0
    sagemaker = boto3.client("sagemaker")
    (start,) = commands("aws sagemaker")
    name = start.split("--pipeline-name ")[1].split()[0]
    execution = sagemaker.start_pipeline_execution(PipelineName=name, ClientRequestToken="t" * 32)
    execution_id = execution["PipelineExecutionArn"].rsplit("/", 1)[1]

    # what the step's container runs for that execution, from the deployed definition
    pipeline = sagemaker.describe_pipeline(PipelineName=name)
    definition_json = json.loads(pipeline["PipelineDefinition"])
    assert definition_problems(definition_json) == []
    app = definition_json["Steps"][0]["Arguments"]["AppSpecification"]
    defaults = {p["Name"]: p["DefaultValue"] for p in definition_json["Parameters"]}
    argv = [
        defaults[a["Get"].split(".")[1]]
        if isinstance(a, dict) and a["Get"].startswith("Parameters.")
        else execution_id
        if isinstance(a, dict)
        else a
        for a in app["ContainerArguments"]
    ]
    argv[argv.index("--results-dir") + 1] = str(tmp_path / "results")
    assert main([*app["ContainerEntrypoint"][1:], *argv, "--quiet"]) == 0
    assert (tmp_path / "results" / "best.json").exists()

    results_argv = shlex.split(results.replace("<execution id>", execution_id))
    assert main(results_argv[1:]) == 0
