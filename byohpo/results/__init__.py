"""A study's results: the one place that builds DataFrames from a study's record.

- :mod:`~byohpo.results._study_result`: :class:`StudyResult`, the one object users hold;
- :mod:`~byohpo.results._trials_table`: the trials table, its columns and types;
- :mod:`~byohpo.results._best`, :mod:`~byohpo.results._pareto`: the best trials, the Pareto set;
- :mod:`~byohpo.results._generations`, :mod:`~byohpo.results._summary`: generations and
  lineages, summaries;
- :mod:`~byohpo.results._learning_curves`: curves and early stops as tables;
- :mod:`~byohpo.results._importance`: hyperparameter importance;
- :mod:`~byohpo.results._plots`: figures (the ``plots`` extra);
- :mod:`~byohpo.results._report` and :mod:`~byohpo.results._report_sections`: the HTML report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from byohpo.errors import NoCompletedTrialError
from byohpo.results._pareto import pareto_mask
from byohpo.results._study_result import StudyResult

__all__ = ["NoCompletedTrialError", "StudyResult", "pareto_mask", "plot_comparison"]

if TYPE_CHECKING:
    from byohpo.results._plots import plot_comparison


def __getattr__(name: str) -> Any:
    # The figures need the ``plots`` extra: imported only when asked for.
    if name == "plot_comparison":
        from byohpo.results._plots import plot_comparison

        return plot_comparison
    raise AttributeError(f"module 'byohpo.results' has no attribute {name!r}")
