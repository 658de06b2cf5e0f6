"""A study's results: the one place that builds DataFrames from a study's record.

- :mod:`~byohpo.results.study_result`: :class:`StudyResult`, the one object users hold;
- :mod:`~byohpo.results.trials_table`: the trials table, its columns and types;
- :mod:`~byohpo.results.best`, :mod:`~byohpo.results.pareto`: the best trials, the Pareto set;
- :mod:`~byohpo.results.generations`, :mod:`~byohpo.results.summary`: generations and
  lineages, summaries;
- :mod:`~byohpo.results.learning_curves`: curves and early stops as tables;
- :mod:`~byohpo.results.importance`: hyperparameter importance;
- :mod:`~byohpo.results.plots`: figures (the ``plots`` extra);
- :mod:`~byohpo.results.report` and :mod:`~byohpo.results.report_sections`: the HTML report.
"""

from __future__ import annotations

from byohpo.errors import NoCompletedTrialError
from byohpo.results.pareto import pareto_mask
from byohpo.results.study_result import StudyResult

__all__ = ["NoCompletedTrialError", "StudyResult", "pareto_mask"]
