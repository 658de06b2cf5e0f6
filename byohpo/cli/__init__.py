"""The ``byohpo`` command line, one module per command group.

- :mod:`~byohpo.cli._main`: the parser, the commands that run a study (run, resume, stop)
  and how mistakes become exit 2;
- :mod:`~byohpo.cli._records`: ``status``, ``results`` and ``repair``, from the study's log;
- :mod:`~byohpo.cli._studies`: ``list`` and ``delete``, over :mod:`~byohpo.cli._catalog`;
- :mod:`~byohpo.cli._compare`: ``compare``, several strategies on one study file;
- :mod:`~byohpo.cli._demo`: ``demo``;
- :mod:`~byohpo.cli._aws_settings`: ``--region`` and ``--profile``, and what to say without
  credentials;
- :mod:`~byohpo.cli._run_summary`: the table a run ends with.
"""

from __future__ import annotations

from byohpo.cli._main import main

__all__ = ["main"]
