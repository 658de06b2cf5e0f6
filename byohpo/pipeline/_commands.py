"""The ``byohpo pipeline`` commands: a study as a scheduled SageMaker Pipelines step.

::

    byohpo pipeline definition STUDY.toml         print the pipeline definition (offline)
    byohpo pipeline deploy STUDY.toml [--schedule "cron(0 3 * * ? *)"]
                                                  upload the study, create or update the
                                                  pipeline and its schedule
    byohpo pipeline step s3://.../study.toml --store S3 --results-dir DIR [--run-id ID]
                                                  what the step's container runs

The options of ``definition`` and ``deploy`` override the study file's ``[pipeline]``
table. Only ``argparse`` is imported with this module; the rest when a command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

_SETTINGS_OPTIONS = (
    ("--name", "the pipeline's name (default: byohpo-<study>)"),
    ("--role", "the step's role: it runs the study (the stack's OrchestratorRoleArn)"),
    ("--pipeline-role", "the role SageMaker Pipelines assumes (default: --role)"),
    ("--image-uri", "the step's image, with byohpo installed (or see --pip-install)"),
    ("--pip-install", "a requirement the step installs first, e.g. 'byohpo==0.1.0'"),
    ("--s3-prefix", "where the study's files go (default: s3://<output bucket>/studies/<study>)"),
    ("--instance-type", "the step's instance type (default: ml.t3.medium)"),
    ("--region", "the AWS region (default: the image's, or your AWS configuration's)"),
)


def add_pipeline_parser(commands: Any) -> None:
    """Add ``pipeline`` and its subcommands to the ``byohpo`` command's subparsers."""
    pipeline = commands.add_parser(
        "pipeline", help="run a study as a (scheduled) SageMaker Pipelines step"
    )
    sub = pipeline.add_subparsers(dest="pipeline_command", required=True, metavar="COMMAND")

    definition = sub.add_parser("definition", help="print the pipeline definition (offline)")
    _settings_options(definition)

    deploy = sub.add_parser("deploy", help="create or update the pipeline and its schedule")
    _settings_options(deploy)
    deploy.add_argument("--schedule", help='e.g. "cron(0 3 * * ? *)": every day at 03:00')
    deploy.add_argument("--timezone", dest="schedule_timezone", help="of the schedule (UTC)")
    deploy.add_argument(
        "--scheduler-role", help="the role EventBridge Scheduler assumes (SchedulerRoleArn)"
    )

    step = sub.add_parser("step", help="run or resume a study (inside the pipeline step)")
    step.add_argument("study_file", metavar="STUDY_FILE", help="s3://.../study.toml")
    step.add_argument("--store", required=True, help="the study's store, s3://...")
    step.add_argument("--results-dir", required=True, help="where to write the results")
    step.add_argument("--run-id", help="one study per run: <name>-<run id>")
    step.add_argument("--quiet", action="store_true", help="no progress lines")


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study_file", metavar="STUDY.toml")
    for option, text in _SETTINGS_OPTIONS:
        parser.add_argument(option, help=text)
    parser.add_argument(
        "--one-study",
        action="store_const",
        const=False,
        dest="study_per_execution",
        help="every execution continues the same study (default: a new study per execution)",
    )


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    from byohpo.pipeline._definition import PipelineSettings
    from byohpo.study_file import load_study_file

    study = load_study_file(args.study_file)
    names = [o[0][2:].replace("-", "_") for o in _SETTINGS_OPTIONS]
    names += ["study_per_execution", "schedule", "schedule_timezone", "scheduler_role"]
    overrides = {name: getattr(args, name, None) for name in names}
    return study, PipelineSettings.from_study(study, overrides)


def cmd_pipeline(args: argparse.Namespace) -> int:
    """Run one ``byohpo pipeline`` subcommand; the exit status."""
    if args.pipeline_command == "definition":
        from byohpo.pipeline._definition import pipeline_definition

        study, settings = _settings(args)
        print(json.dumps(pipeline_definition(study, settings), indent=2))
        return 0
    if args.pipeline_command == "deploy":
        from byohpo.pipeline._deploy import deploy

        study, settings = _settings(args)
        done = deploy(study, settings)
        print(f"study file: {done.study_file_uri}")
        if done.source_uri:
            print(f"code: {done.source_uri}")
        print(f"pipeline {'created' if done.created else 'updated'}: {done.pipeline_arn}")
        if done.schedule_arn:
            when = f"{settings.schedule}, {settings.schedule_timezone}"
            print(f"schedule ({when}): {done.schedule_arn}")
        start = "aws sagemaker start-pipeline-execution --pipeline-name"
        print(f"run it now: {start} {done.pipeline_name}")
        return 0
    from byohpo.pipeline._step import run_step

    result = run_step(
        args.study_file,
        store=args.store,
        results_dir=args.results_dir,
        run_id=args.run_id,
        progress=not args.quiet,
    )
    print(f"study {result.name}: {result.trials} trials; results in {args.results_dir}")
    if result.stop_reason:
        print(f"study ended: {result.stop_reason}")
    return 0
