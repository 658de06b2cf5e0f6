"""A notebook written for the SageMaker Python SDK v2's tuner, as its users write them.

The test runs it with one line changed: the tuner's import. Everything else
(the SDK's session, Estimator and MXNet estimator, ranges, metric definitions,
fit, analytics, best_training_job, attach) is the SDK's own code.
"""
# ruff: noqa: I001  (the tuner's import on a line of its own, as the test changes it)

import os

import boto3
import sagemaker
from sagemaker.estimator import Estimator
from sagemaker.mxnet import MXNet
from sagemaker.tuner import CategoricalParameter, ContinuousParameter, IntegerParameter
from sagemaker.tuner import HyperparameterTuner

CODE = os.environ["NOTEBOOK_CODE"]
DATA = os.environ["NOTEBOOK_DATA"]

session = sagemaker.Session(boto_session=boto3.Session(region_name="us-east-1"))
role = "arn:aws:iam::123456789012:role/SageMakerRole"
bucket = session.default_bucket()
train = session.upload_data(path=DATA, bucket=bucket, key_prefix="notebook/train")

# -- a generic Estimator with a script ---------------------------------------------------
estimator = Estimator(
    entry_point="train.py",
    source_dir=CODE,
    image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    role=role,
    instance_count=1,
    instance_type="ml.m5.large",
    output_path=f"s3://{bucket}/notebook/output",
    sagemaker_session=session,
    hyperparameters={"epochs": 2, "layers": 1},
)
hyperparameter_ranges = {
    "learning_rate": ContinuousParameter(1e-4, 1e-1, scaling_type="Logarithmic"),
    "layers": IntegerParameter(1, 5),
    "optimizer": CategoricalParameter(["sgd", "adam"]),
}
objective_metric_name = "validation:accuracy"
metric_definitions = [
    {"Name": "validation:accuracy", "Regex": "Validation-accuracy=([0-9\\.]+)"},
    {"Name": "train:accuracy", "Regex": "Train-accuracy=([0-9\\.]+)"},
]
tuner = HyperparameterTuner(
    estimator,
    objective_metric_name,
    hyperparameter_ranges,
    metric_definitions,
    max_jobs=4,
    max_parallel_jobs=2,
    objective_type="Maximize",
    base_tuning_job_name="nb-estimator",
)
tuner.fit({"train": train})
estimator_frame = tuner.analytics().dataframe()
estimator_best = tuner.best_training_job()
estimator_description = tuner.describe()

# -- an MXNet estimator, its data as a TrainingInput, picked up again with attach ----------
mxnet = MXNet(
    entry_point="train.py",
    source_dir=CODE,
    framework_version="1.9.0",
    py_version="py38",
    role=role,
    instance_count=1,
    instance_type="ml.m5.large",
    output_path=f"s3://{bucket}/notebook/mxnet",
    sagemaker_session=session,
)
mxnet_tuner = HyperparameterTuner(
    mxnet,
    objective_metric_name,
    {"learning_rate": ContinuousParameter(0.001, 0.1), "layers": IntegerParameter(1, 5)},
    metric_definitions,
    max_jobs=2,
    max_parallel_jobs=2,
)
mxnet_tuner.fit(
    inputs={"train": sagemaker.inputs.TrainingInput(train)},
    job_name="nb-mxnet",
    wait=False,
)
mxnet_tuner.wait()
attached = HyperparameterTuner.attach("nb-mxnet")
mxnet_frame = attached.analytics().dataframe()
mxnet_best = attached.best_training_job()
