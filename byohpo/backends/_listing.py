"""ListTrainingJobs, page by page: a study's running jobs (each poll) or all its jobs (resume).

A poll lists only the study's ``InProgress`` jobs, newest first, so its pages
are bounded by the jobs running at once (100 a page), however long ago the
oldest of them was created; a job it does not list has left ``InProgress``
(or is too new to be listed yet) and is described instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from byohpo.trial import JobStatus

LIST_PAGE_SIZE = 100
"""Jobs per ListTrainingJobs page (SageMaker's maximum)."""

ListPage = Callable[..., Mapping[str, Any]]
"""Sends one ListTrainingJobs request with these parameters; returns its answer."""


def running_jobs(
    list_page: ListPage, prefix: str, wanted: set[str]
) -> tuple[list[Mapping[str, Any]], int]:
    """The summaries of the running jobs whose names contain ``prefix``, newest first, until
    every one of ``wanted`` was seen or the list ends; and the pages it took."""
    params: dict[str, Any] = {
        "NameContains": prefix,
        "StatusEquals": JobStatus.IN_PROGRESS.value,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": LIST_PAGE_SIZE,
    }
    summaries: list[Mapping[str, Any]] = []
    seen = 0
    pages = 0
    while True:
        page = list_page(**params)
        pages += 1
        for summary in page.get("TrainingJobSummaries", []):
            summaries.append(summary)
            seen += summary["TrainingJobName"] in wanted
        token = page.get("NextToken")
        if seen >= len(wanted) or not token:
            return summaries, pages
        params["NextToken"] = token


def all_jobs(list_page: ListPage, prefix: str) -> Iterator[Mapping[str, Any]]:
    """The summaries of every job whose name contains ``prefix``, oldest first."""
    params: dict[str, Any] = {
        "NameContains": prefix,
        "SortBy": "CreationTime",
        "SortOrder": "Ascending",
        "MaxResults": LIST_PAGE_SIZE,
    }
    while True:
        page = list_page(**params)
        yield from page.get("TrainingJobSummaries", [])
        token = page.get("NextToken")
        if not token:
            return
        params["NextToken"] = token
