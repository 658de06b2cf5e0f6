"""Study files: a study as TOML, whose tables mirror the Tuner's arguments.

::

    [study]        name, strategy, mode, max_jobs, max_parallel_jobs, seed, max_runtime,
                   max_cost, max_retries, store, warm_start (earlier studies' names or
                   directories, or { tuning_job = "..." }), and the strategy's own options
    [objective]    metric, direction            (or [objectives]: metric = "maximize", ...)
    [job]          the TrainingJob fields; metric_definitions as a table
    [space]        one inline table per parameter
    [early_stopping] optional: the options of the rule named by ``early_stopping`` in
                   [study] ("median", "asha", "hyperband"), and ``metric``, ``read_interval``
    [prices]       optional: instance type = dollars per hour
    [dry_run]      optional: inputs = { channel = "local/dir" } put into the fake S3
    [dry_run.faults] optional: throttle, fail, capacity, ... fractions of the dry run's
                   calls or jobs that go wrong (see :mod:`byohpo.fake._fault_settings`)
    [sagemaker]    optional: events_queue = "https://sqs...", the SQS queue URL of status
                   by events (``SageMakerBackend(events_queue=...)``; a dry run rehearses
                   it with a queue of that name in its fake AWS)
    [pipeline]     optional: how ``byohpo pipeline`` runs the study as a scheduled
                   SageMaker Pipelines step (read by :mod:`byohpo.pipeline`)

A study file may also be read from S3 (``s3://bucket/key.toml``); its code must
then be in S3 too (``source_dir = "s3://.../sourcedir.tar.gz"``).

Every mistake is reported as :class:`~byohpo.errors.StudyFileError` naming
the file, the key and the fix, before anything is launched.
"""

from __future__ import annotations

from byohpo.study_file._reading import StudyFile, load_study_file

__all__ = ["StudyFile", "load_study_file"]
