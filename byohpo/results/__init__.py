"""A study's results: the one place that builds DataFrames from a study's record.

- :mod:`~byohpo.results.study_result`: :class:`StudyResult`, the table, the best trial or
  Pareto set, lineage;
- :mod:`~byohpo.results.learning_curves`: curves and early stops as tables;
- :mod:`~byohpo.results.importance`: hyperparameter importance;
- :mod:`~byohpo.results.plots`: figures (the ``plots`` extra);
- :mod:`~byohpo.results.report` and :mod:`~byohpo.results.report_sections`: the HTML report.
"""

from __future__ import annotations

from byohpo.results.study_result import NoCompletedTrialError, StudyResult, pareto_mask

__all__ = ["NoCompletedTrialError", "StudyResult", "pareto_mask"]
