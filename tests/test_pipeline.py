"""The demo study's pipeline definition, built offline: structure, names, wiring, retries."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from byohpo.cli import main
from byohpo.errors import StudyFileError
from byohpo.pipeline._checks import definition_problems
from byohpo.pipeline._definition import (
    BEST_FILE,
    RESULTS_LOCAL_PATH,
    RESULTS_OUTPUT,
    RETRYABLE_JOB_ERRORS,
    STEP_NAME,
    PipelineSettings,
    best_value,
    pipeline_definition,
    results_s3_uri,
)
from byohpo.study_file import load_study_file

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits-ga.toml"
EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}


def demo_definition(**overrides: Any) -> dict[str, Any]:
    study = load_study_file(EXAMPLE)
    return pipeline_definition(study, PipelineSettings.from_study(study, overrides))


def the_step(definition: dict[str, Any]) -> dict[str, Any]:
    steps = [s for s in definition["Steps"] if s["Name"] == STEP_NAME]
    assert len(steps) == 1
    return steps[0]


def test_the_demo_study_definition_is_built_offline_and_is_valid() -> None:
    definition = demo_definition()
    assert definition["Version"] == "2020-12-01"
    assert [s["Name"] for s in definition["Steps"]] == ["RunStudy"]
    assert definition_problems(definition) == []
    json.dumps(definition)  # JSON-ready as it is


def test_the_step_runs_the_study_file_from_s3_in_a_processing_job() -> None:
    step = the_step(demo_definition())
    assert step["Type"] == "Processing"
    app = step["Arguments"]["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["byohpo", "pipeline", "step"]
    assert app["ImageUri"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/byohpo-step:0.1.0"
    args = app["ContainerArguments"]
    assert args[0] == {"Get": "Parameters.StudyFile"}
    assert args[args.index("--store") + 1] == "s3://byohpo-demo/studies/digits-ga/store"
    assert args[args.index("--results-dir") + 1] == RESULTS_LOCAL_PATH
    assert args[args.index("--run-id") + 1] == EXECUTION_ID
    assert step["Arguments"]["RoleArn"].endswith(":role/byohpo-digits-ga-orchestrator")
    assert step["Arguments"]["Environment"]["AWS_DEFAULT_REGION"] == "us-east-1"


def test_parameters_are_declared_and_wired_into_the_step() -> None:
    definition = demo_definition()
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["StudyFile"]["DefaultValue"] == (
        "s3://byohpo-demo/studies/digits-ga/study.toml"
    )
    assert parameters["InstanceType"]["DefaultValue"] == "ml.t3.medium"
    cluster = the_step(definition)["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {"Get": "Parameters.InstanceType"}
    assert cluster["InstanceCount"] == 1


def test_the_results_are_an_output_per_execution_and_best_json_a_property_file() -> None:
    step = the_step(demo_definition())
    (output,) = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == RESULTS_OUTPUT
    assert output["S3Output"]["LocalPath"] == RESULTS_LOCAL_PATH
    assert output["S3Output"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": ["s3://byohpo-demo/studies/digits-ga/results", EXECUTION_ID],
        }
    }
    assert step["PropertyFiles"] == [
        {"PropertyFileName": BEST_FILE, "OutputName": RESULTS_OUTPUT, "FilePath": "best.json"}
    ]


def test_the_step_is_retried_on_sagemaker_s_own_failures() -> None:
    policies = the_step(demo_definition())["RetryPolicies"]
    job_policy = next(p for p in policies if "SageMaker.JOB_INTERNAL_ERROR" in p["ExceptionType"])
    assert set(job_policy["ExceptionType"]) == set(RETRYABLE_JOB_ERRORS)
    assert "SageMaker.CAPACITY_ERROR" in job_policy["ExceptionType"]
    assert job_policy["MaxAttempts"] == 3 and job_policy["BackoffRate"] >= 1
    step_policy = next(p for p in policies if "Step.SERVICE_FAULT" in p["ExceptionType"])
    assert "Step.THROTTLING" in step_policy["ExceptionType"]


def test_one_study_across_executions_drops_the_execution_id() -> None:
    step = the_step(demo_definition(study_per_execution=False))
    args = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert "--run-id" not in args
    output = step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
    assert output["S3Uri"] == "s3://byohpo-demo/studies/digits-ga/results"


def test_pip_install_puts_byohpo_in_any_python_image_first() -> None:
    step = the_step(demo_definition(pip_install="byohpo==0.1.0"))
    entry = step["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    assert entry[:2] == ["/bin/sh", "-c"]
    assert "pip install" in entry[2] and "byohpo==0.1.0" in entry[2]
    quoted = the_step(demo_definition(pip_install="byohpo>=0.1,<1"))
    assert "'byohpo>=0.1,<1'" in quoted["Arguments"]["AppSpecification"]["ContainerEntrypoint"][2]
    assert 'exec byohpo pipeline step "$@"' in entry[2]


def test_a_next_step_can_use_the_results_and_the_best_hyperparameters() -> None:
    study = load_study_file(EXAMPLE)
    settings = PipelineSettings.from_study(study)
    train_best = {
        "Name": "TrainBest",
        "Type": "Training",
        "Arguments": {
            "HyperParameters": {
                "learning_rate": best_value("best.hyperparameters.learning_rate"),
            },
            "InputDataConfig": [
                {
                    "ChannelName": "study",
                    "DataSource": {"S3DataSource": {"S3Uri": results_s3_uri()}},
                }
            ],
        },
    }
    definition = pipeline_definition(study, settings, extra_steps=[train_best])
    assert definition_problems(definition) == []
    broken = copy.deepcopy(train_best)
    broken["Arguments"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = {
        "Get": "Steps.RunStudy.ProcessingOutputConfig.Outputs['nope'].S3Output.S3Uri"
    }
    broken["Arguments"]["HyperParameters"]["learning_rate"]["Std:JsonGet"]["PropertyFile"] = {
        "Get": "Steps.RunStudy.PropertyFiles.Nope"
    }
    problems = definition_problems(pipeline_definition(study, settings, extra_steps=[broken]))
    assert any("unknown output 'nope'" in p for p in problems)
    assert any("unknown property file 'Nope'" in p for p in problems)


def test_the_checks_find_broken_wiring() -> None:
    definition = demo_definition()
    step = the_step(definition)
    step["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] = {
        "Get": "Parameters.Missing"
    }
    step["RetryPolicies"][0]["ExceptionType"].append("SageMaker.SOMETHING")
    step["RetryPolicies"][1]["MaxAttempts"] = 50
    definition["Steps"].append({"Name": "bad name!", "Type": "Fail", "Arguments": {}})
    problems = definition_problems(definition)
    assert any("undeclared parameter 'Missing'" in p for p in problems)
    assert any("'InstanceType' is declared but no step uses it" in p for p in problems)
    assert any("SageMaker.SOMETHING" in p for p in problems)
    assert any("MaxAttempts must be 1 to 20" in p for p in problems)
    assert any("step name 'bad name!'" in p for p in problems)


def test_the_definition_is_the_same_every_time() -> None:
    assert json.dumps(demo_definition()) == json.dumps(demo_definition())


def test_byohpo_pipeline_definition_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "definition", str(EXAMPLE), "--instance-type", "ml.m5.large"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert definition_problems(printed) == []
    parameters = {p["Name"]: p["DefaultValue"] for p in printed["Parameters"]}
    assert parameters["InstanceType"] == "ml.m5.large"


def test_a_missing_pipeline_setting_is_a_user_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text().split("[pipeline]")[0].replace("../entry_points", "src")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "digits_mlp.py").write_text("print('hi')\n")
    study = tmp_path / "study.toml"
    study.write_text(text)
    assert main(["pipeline", "definition", str(study)]) == 2
    err = capsys.readouterr().err
    assert "[pipeline.role]" in err and "--role" in err and "Traceback" not in err
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byohpo-step:1"
    argv = ["pipeline", "definition", str(study), "--image-uri", image, "--role", "not-an-arn"]
    assert main(argv) == 2
    assert "role must be an IAM role ARN" in capsys.readouterr().err


def test_unknown_and_wrong_pipeline_settings_are_refused() -> None:
    study = load_study_file(EXAMPLE)
    with pytest.raises(StudyFileError, match=r"unknown key 'schedul'"):
        PipelineSettings.from_study(study, {"schedul": "cron(0 3 * * ? *)"})
    with pytest.raises(StudyFileError, match="cron"):
        PipelineSettings.from_study(study, {"schedule": "every day"})
    with pytest.raises(StudyFileError, match="scheduler_role"):
        PipelineSettings.from_study(study, {"schedule": "cron(0 3 * * ? *)"})
    with pytest.raises(StudyFileError, match="max_runtime_seconds"):
        PipelineSettings.from_study(study, {"max_runtime_seconds": 10**7})
