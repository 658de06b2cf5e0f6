"""A notebook written for the SageMaker Python SDK v3's tuner, as its users write them.

The test runs it with one line changed: the tuner's import. Everything else
(the SDK's ModelTrainer and its configs, ranges from sagemaker.core.parameter,
metric definitions, tune(inputs), analytics, best_training_job) is the SDK's own.
"""

import os

import boto3
from sagemaker.core.parameter import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagemaker.core.training.configs import (
    Compute,
    InputData,
    OutputDataConfig,
    SourceCode,
    StoppingCondition,
)
from sagemaker.train import ModelTrainer
from sagemaker.train.tuner import HyperparameterTuner

CODE = os.environ["NOTEBOOK_CODE"]
DATA = os.environ["NOTEBOOK_DATA"]

role = "arn:aws:iam::123456789012:role/SageMakerRole"
bucket = "notebook-v3-data"
s3 = boto3.client("s3", region_name="us-east-1")
s3.create_bucket(Bucket=bucket)
s3.upload_file(os.path.join(DATA, "data.csv"), bucket, "notebook/train/data.csv")
train = f"s3://{bucket}/notebook/train"

trainer = ModelTrainer(
    training_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    source_code=SourceCode(source_dir=CODE, entry_script="train.py"),
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    stopping_condition=StoppingCondition(max_runtime_in_seconds=600),
    role=role,
    hyperparameters={"epochs": 2},
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/notebook/output"),
)
tuner = HyperparameterTuner(
    model_trainer=trainer,
    objective_metric_name="validation:accuracy",
    hyperparameter_ranges={
        "learning_rate": ContinuousParameter(1e-4, 1e-1, scaling_type="Logarithmic"),
        "layers": IntegerParameter(1, 5),
        "optimizer": CategoricalParameter(["sgd", "adam"]),
    },
    metric_definitions=[
        {"Name": "validation:accuracy", "Regex": "Validation-accuracy=([0-9\\.]+)"},
    ],
    max_jobs=3,
    max_parallel_jobs=3,
)
tuner.tune(inputs=[InputData(channel_name="train", data_source=train)], job_name="nb-v3")
frame = tuner.analytics().dataframe()
best = tuner.best_training_job()
