"""A study as a scheduled SageMaker Pipelines step.

- :mod:`~byohpo.pipeline._definition`: the pipeline definition, built offline, and the
  settings of the ``[pipeline]`` table;
- :mod:`~byohpo.pipeline._checks`: what SageMaker would refuse in a definition;
- :mod:`~byohpo.pipeline._deploy`: uploading the study and creating the pipeline and schedule;
- :mod:`~byohpo.pipeline._step`: what the step's container runs;
- :mod:`~byohpo.pipeline._commands`: the ``byohpo pipeline`` commands;
- :mod:`~byohpo.pipeline._study_toml`: the study file written back as TOML, for the step to read.

The names a user's own pipeline steps need are re-exported here.
"""

from __future__ import annotations

from byohpo.pipeline._definition import (
    PipelineSettings,
    best_value,
    pipeline_definition,
    results_s3_uri,
)

__all__ = ["PipelineSettings", "best_value", "pipeline_definition", "results_s3_uri"]
