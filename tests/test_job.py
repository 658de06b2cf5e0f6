"""TrainingJob: a template SageMaker would reject is refused when it is built, with a message
that says what must hold, what was given and how to fix it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from byohpo._images import training_image
from byohpo.errors import JobDefinitionError, MissingExtraError
from byohpo.job import TrainingJob

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


@pytest.fixture
def code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text("print('Validation-accuracy=0.9')\n")
    return source


def make(**changes: Any) -> TrainingJob:
    fields: dict[str, Any] = {
        "entry_point": "train.py",
        "source_dir": "src",
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        "role": ROLE,
        "output_path": "s3://bucket/byohpo",
        "metric_definitions": {"validation:accuracy": r"Validation-accuracy=([0-9\.]+)"},
    }
    fields.update(changes)
    return TrainingJob(**fields)


def rejects(match: str, **changes: Any) -> JobDefinitionError:
    with pytest.raises(JobDefinitionError, match=match) as info:
        make(**changes)
    return info.value


@pytest.mark.usefixtures("code")
def test_a_valid_template_builds_and_round_trips_through_json() -> None:
    job = make(
        inputs={"train": "s3://bucket/digits/train"},
        hyperparameters={"batch_size": 100, "verbose": True},
        environment={"OMP_NUM_THREADS": "1"},
        tags={"team": "ml"},
        vpc_config={"subnets": ["subnet-0abc"], "security_group_ids": ["sg-0abc"]},
        use_spot=True,
        max_wait_seconds=2 * 24 * 3600,
        checkpoint_s3_uri="s3://bucket/ckpt/",
    )
    assert job.checkpoint_s3_uri == "s3://bucket/ckpt"
    assert job.vpc_config == {"Subnets": ["subnet-0abc"], "SecurityGroupIds": ["sg-0abc"]}
    assert job.static_hyperparameters() == {"batch_size": "100", "verbose": "true"}
    text = json.dumps(job.to_json())
    assert TrainingJob.from_json(text) == job
    assert TrainingJob.from_json(json.loads(text)) == job


@pytest.mark.usefixtures("code")
@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"role": "SageMakerRole"}, r"role must be an IAM role ARN.*full ARN"),
        ({"role": "arn:aws:iam::1234:role/x"}, "role must be an IAM role ARN"),
        ({"role": "arn:aws:iam::123456789012:user/bob"}, "role must be an IAM role ARN"),
        ({"instance_type": "m5.large"}, "instance_type must be a SageMaker training instance"),
        ({"instance_type": "local"}, "FakeSageMaker"),
        ({"instance_count": 0}, "1 <= instance_count"),
        ({"volume_size_gb": 2.5}, "volume_size_gb must be a whole number"),
        ({"output_path": "bucket/byohpo"}, "output_path must be an S3 URI"),
        ({"output_path": "s3://Bad_Bucket/x"}, "output_path must be an S3 URI"),
        ({"checkpoint_s3_uri": "/opt/ml/checkpoints"}, "checkpoint_s3_uri must be an S3 URI"),
        ({"inputs": {"train": "data/train"}}, r"inputs\['train'\] must be an S3 URI"),
        ({"inputs": {"tr ain": "s3://bucket/x"}}, "input channel name"),
        ({"inputs": ["s3://bucket/x"]}, "inputs must be a mapping"),
        ({"entry_point": "missing.py"}, r"entry_point must be a file inside source_dir.*train\.py"),
        ({"entry_point": "../train.py"}, "relative to source_dir"),
        ({"source_dir": "nowhere"}, "source_dir must be an existing directory"),
        ({"source_dir": "s3://bucket/code/"}, r"\.tar\.gz"),
        ({"entry_point": None}, "source_dir needs an entry_point"),
        ({"image_uri": None}, "needs image_uri, or framework"),
        ({"image_uri": "my image"}, "without spaces"),
        ({"image_uri": None, "framework": "SKLearn"}, "framework must be"),
        ({"max_runtime_seconds": 0}, "1 <= max_runtime_seconds"),
        ({"max_runtime_seconds": 30 * 24 * 3600}, "max_runtime_seconds <= 2419200"),
        ({"keep_alive_seconds": 7200}, "keep_alive_seconds <= 3600"),
        ({"use_spot": True}, "spot training needs max_wait_seconds"),
        ({"use_spot": True, "max_wait_seconds": 60}, "max_wait_seconds >= max_runtime_seconds"),
        ({"max_wait_seconds": 100_000}, "only to spot training"),
        (
            {"use_spot": True, "max_wait_seconds": 200_000, "keep_alive_seconds": 60},
            "warm pools",
        ),
        ({"hyperparameters": {"sagemaker_program": "x"}}, "reserved"),
        ({"hyperparameters": {"lr": float("nan")}}, "must be finite"),
        ({"hyperparameters": {"lr": [1, 2]}}, "string, number or bool"),
        ({"hyperparameters": {f"h{i}": i for i in range(96)}}, "at most 95 hyperparameters"),
        ({"environment": {"1BAD": "x"}}, "environment variable name"),
        ({"environment": {"N": 1}}, "must be a string"),
        ({"tags": {"aws:owner": "me"}}, "reserved"),
        ({"tags": {"byohpo:study": "x"}}, "reserved"),
        ({"tags": {f"t{i}": "x" for i in range(49)}}, "at most 48 tags"),
        ({"vpc_config": {"Subnets": ["subnet-1"]}}, "security group"),
        ({"vpc_config": {"Subnets": "subnet-1", "SecurityGroupIds": ["sg-1"]}}, "must be a list"),
        ({"kms_key_id": "key id"}, "KMS key"),
        ({"input_mode": "Stream"}, "input_mode"),
        ({"container_log_level": 99}, "container_log_level"),
    ],
)
def test_each_bad_field_is_refused_with_a_helpful_message(
    changes: dict[str, Any], match: str
) -> None:
    error = rejects(match, **changes)
    assert isinstance(error, ValueError)
    assert "but got" in str(error)
    assert error.fix  # says how to fix it


@pytest.mark.usefixtures("code")
@pytest.mark.parametrize(
    ("regex", "match"),
    [
        ("Validation-accuracy=[0-9.]+", "exactly one capture group"),
        (r"(Validation)-accuracy=([0-9.]+)", "exactly one capture group"),
        (r"acc=([0-9.]+", "valid regular expression"),
        (r"optimizer=([a-z]+)", "capture a number"),
        ("", "1 to 500 characters"),
        ("x" * 501, "1 to 500 characters"),
    ],
)
def test_a_metric_regex_must_compile_and_capture_one_number(regex: str, match: str) -> None:
    rejects(match, metric_definitions={"acc": regex})


@pytest.mark.usefixtures("code")
@pytest.mark.parametrize(
    "regex",
    [
        r"Validation-accuracy=([0-9\.]+)",
        r"(?:Train|Validation)-loss=(\S+)",
        r"loss: (?P<value>[-+0-9.eE]+)",
        r"epoch \d+ acc=(\d*\.\d+|\d+)",
        r"[(]acc[)] ([0-9.]+)",
    ],
)
def test_usual_metric_regexes_are_accepted(regex: str) -> None:
    assert make(metric_definitions={"m": regex}).metric_names == ["m"]


@pytest.mark.usefixtures("code")
def test_at_most_twenty_metric_definitions() -> None:
    many = {f"m{i}": rf"m{i}=([0-9.]+)" for i in range(21)}
    rejects("at most 20 metric definitions", metric_definitions=many)


@pytest.mark.usefixtures("code")
def test_spot_without_checkpoints_warns() -> None:
    with pytest.warns(UserWarning, match="checkpoint_s3_uri"):
        make(use_spot=True, max_wait_seconds=200_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(use_spot=True, max_wait_seconds=200_000, checkpoint_s3_uri="s3://bucket/ckpt")


def test_an_entry_point_without_source_dir_is_a_file(code: Path) -> None:
    job = make(entry_point="src/train.py", source_dir=None)
    assert job.entry_point == "src/train.py"
    rejects("existing file when source_dir is not given", entry_point="train.py", source_dir=None)


def test_a_container_without_script_needs_its_image() -> None:
    job = TrainingJob(entry_point=None, role=ROLE, image_uri="123.dkr.ecr/x:1")
    assert job.entry_point is None
    with pytest.raises(JobDefinitionError, match="needs image_uri"):
        TrainingJob(entry_point=None, role=ROLE, framework="sklearn")


@pytest.mark.usefixtures("code")
def test_from_json_names_unknown_fields_and_can_skip_file_checks() -> None:
    data = make().to_json()
    data["instance_typ"] = "ml.m5.large"
    with pytest.raises(JobDefinitionError, match="Did you mean 'instance_type'"):
        TrainingJob.from_json(data)
    elsewhere = make().to_json() | {"source_dir": "/nowhere/src"}
    with pytest.raises(JobDefinitionError, match="existing directory"):
        TrainingJob.from_json(elsewhere)
    assert TrainingJob.from_json(elsewhere, check_files=False).source_dir == "/nowhere/src"
    with pytest.raises(JobDefinitionError, match="valid JSON"):
        TrainingJob.from_json("{not json")
    with pytest.raises(JobDefinitionError, match="needs 'role'"):
        TrainingJob.from_json({"entry_point": "train.py"})


@pytest.mark.usefixtures("code")
def test_a_template_is_frozen() -> None:
    job = make()
    with pytest.raises(AttributeError):
        job.instance_type = "ml.p3.2xlarge"  # type: ignore[misc]


@pytest.mark.usefixtures("code")
def test_an_explicit_image_needs_no_sdk() -> None:
    assert training_image(make(), "eu-west-1").endswith("/train:1")


@pytest.mark.usefixtures("code")
def test_a_framework_image_without_the_sdk_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    for name in (
        "sagemaker",
        "sagemaker.image_uris",
        "sagemaker.core",
        "sagemaker.core.image_uris",
    ):
        monkeypatch.setitem(sys.modules, name, None)
    job = make(image_uri=None, framework="sklearn", framework_version="1.2-1")
    with pytest.raises(MissingExtraError, match=r"pip install 'byohpo\[sagemaker\]'"):
        training_image(job, "us-east-1")


@pytest.mark.usefixtures("code")
def test_a_framework_image_is_found_offline_with_the_sdk() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own import notices
        pytest.importorskip("sagemaker")
    job = make(image_uri=None, framework="sklearn", framework_version="1.2-1", py_version="py3")
    image = training_image(job, "us-east-1")
    assert "sagemaker-scikit-learn:1.2-1" in image
    newest = training_image(make(image_uri=None, framework="sklearn"), "us-east-1")
    assert "sagemaker-scikit-learn" in newest
    with pytest.raises(JobDefinitionError, match="must know a training image"):
        training_image(make(image_uri=None, framework="sklearn", framework_version="0.0"), "x")


# -- from the SageMaker SDK ---------------------------------------------------------------


class _V2Estimator:
    """The attributes a SageMaker SDK v2 framework estimator (here SKLearn) has."""

    _framework_name = "sklearn"

    def __init__(self) -> None:
        self.entry_point = "train.py"
        self.source_dir = "src"
        self.dependencies: list[str] = []
        self.git_config = None
        self.image_uri = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1"
        self.framework_version = "1.2-1"
        self.py_version = "py3"
        self.role = ROLE
        self.instance_type = "ml.m5.large"
        self.instance_count = 1
        self.volume_size = 30
        self.max_run = 600
        self.use_spot_instances = True
        self.max_wait = 1200
        self.keep_alive_period_in_seconds = None
        self.checkpoint_s3_uri = "s3://bucket/ckpt"
        self.checkpoint_local_path = None
        self.output_path = "s3://bucket/out"
        self.metric_definitions = [{"Name": "acc", "Regex": "acc=([0-9.]+)"}]
        self._hyperparameters = {"lr": 0.1, "opt": "adam", "sagemaker_program": "train.py"}
        self.environment = {"A": "1"}
        self.tags = [{"Key": "team", "Value": "ml"}]
        self.subnets = ["subnet-1"]
        self.security_group_ids = ["sg-1"]
        self.output_kms_key = None
        self.volume_kms_key = None
        self.input_mode = "File"
        self.container_log_level = 20


def _check_converted(job: TrainingJob) -> None:
    assert (job.entry_point, job.source_dir, job.role) == ("train.py", "src", ROLE)
    assert job.instance_type == "ml.m5.large"
    assert (job.max_runtime_seconds, job.use_spot, job.max_wait_seconds) == (600, True, 1200)
    assert job.metric_definitions == {"acc": "acc=([0-9.]+)"}
    assert job.hyperparameters == {"lr": 0.1, "opt": "adam"}
    assert job.tags == {"team": "ml"}
    assert job.inputs == {"train": "s3://bucket/train"}
    assert job.output_path == "s3://bucket/out"


@pytest.mark.usefixtures("code")
def test_a_v2_estimator_converts_by_its_attributes() -> None:
    job = TrainingJob.from_sagemaker(_V2Estimator(), inputs={"train": "s3://bucket/train"})
    _check_converted(job)
    assert job.framework == "sklearn" and job.image_uri is not None
    assert job.vpc_config == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    smaller = TrainingJob.from_sagemaker(_V2Estimator(), instance_type="ml.c5.xlarge")
    assert smaller.instance_type == "ml.c5.xlarge"


@pytest.mark.usefixtures("code")
def test_what_cannot_be_converted_is_named() -> None:
    estimator = _V2Estimator()
    estimator.dependencies = ["lib"]
    with pytest.raises(JobDefinitionError, match="dependencies"):
        TrainingJob.from_sagemaker(estimator)
    with pytest.raises(JobDefinitionError, match="Estimator \\(v2\\) or ModelTrainer \\(v3\\)"):
        TrainingJob.from_sagemaker(object())


@pytest.mark.usefixtures("code")
def test_a_v3_model_trainer_converts(monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own import notices
        pytest.importorskip("sagemaker.train")
        from sagemaker.core.shapes import MetricDefinition, Tag
        from sagemaker.core.training.configs import (
            CheckpointConfig,
            Compute,
            InputData,
            OutputDataConfig,
            SourceCode,
            StoppingCondition,
        )
        from sagemaker.train import ModelTrainer

    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        import boto3

        boto3.client("iam").create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument="{}")
        trainer = ModelTrainer(
            training_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
            source_code=SourceCode(source_dir="src", entry_script="train.py"),
            compute=Compute(
                instance_type="ml.m5.large", instance_count=1, enable_managed_spot_training=True
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=600, max_wait_time_in_seconds=1200
            ),
            role=ROLE,
            hyperparameters={"lr": 0.1, "opt": "adam"},
            input_data_config=[InputData(channel_name="train", data_source="s3://bucket/train")],
            output_data_config=OutputDataConfig(s3_output_path="s3://bucket/out"),
            checkpoint_config=CheckpointConfig(s3_uri="s3://bucket/ckpt"),
            tags=[Tag(key="team", value="ml")],
        ).with_metric_definitions([MetricDefinition(name="acc", regex="acc=([0-9.]+)")])
    _check_converted(TrainingJob.from_sagemaker(trainer))


@pytest.mark.usefixtures("code")
def test_a_real_v2_estimator_converts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    moto = pytest.importorskip("moto")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own import notices
        pytest.importorskip("sagemaker.sklearn")
        import boto3
        import sagemaker
        from sagemaker.sklearn import SKLearn
    with moto.mock_aws():
        session = sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"))
        estimator = SKLearn(
            entry_point="train.py",
            source_dir="src",
            framework_version="1.2-1",
            py_version="py3",
            role=ROLE,
            instance_type="ml.m5.large",
            instance_count=1,
            hyperparameters={"lr": 0.1, "opt": "adam"},
            metric_definitions=[{"Name": "acc", "Regex": "acc=([0-9.]+)"}],
            output_path="s3://bucket/out",
            sagemaker_session=session,
            use_spot_instances=True,
            max_run=600,
            max_wait=1200,
            checkpoint_s3_uri="s3://bucket/ckpt",
            tags=[{"Key": "team", "Value": "ml"}],
        )
    job = TrainingJob.from_sagemaker(estimator, inputs={"train": "s3://bucket/train"})
    _check_converted(job)
    assert job.framework == "sklearn"
