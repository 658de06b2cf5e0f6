"""The ``byohpo`` command line, one module per command group.

- :mod:`~byohpo.cli.main`: the parser, the commands that run a study (run, resume, stop)
  and how mistakes become exit 2;
- :mod:`~byohpo.cli.records`: ``status``, ``results`` and ``repair``, from the study's log;
- :mod:`~byohpo.cli.studies`: ``list`` and ``delete``, over :mod:`~byohpo.cli.catalog`;
- :mod:`~byohpo.cli.compare`: ``compare``, several strategies on one study file;
- :mod:`~byohpo.cli.demo`: ``demo``;
- :mod:`~byohpo.cli.aws_settings`: ``--region`` and ``--profile``, and what to say without
  credentials;
- :mod:`~byohpo.cli.run_summary`: the table a run ends with.
"""

from __future__ import annotations

from byohpo.cli.main import main

__all__ = ["main"]
