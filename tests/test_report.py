"""The HTML report: one self-contained file a user can open or mail."""

from __future__ import annotations

import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from byohpo.report import render_report, write_report
from byohpo.results import StudyResult
from tests.test_results import config, digits_study, job, study_event, two_objective_study

VOID = {"meta", "img", "br", "hr", "link", "input", "col"}


class _Nesting(HTMLParser):
    """Checks that every element is closed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.sources += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _check_html(text: str) -> _Nesting:
    assert text.startswith("<!DOCTYPE html>")
    parser = _Nesting()
    parser.feed(text)
    parser.close()
    assert parser.problems == []
    assert parser.stack == []
    return parser


def test_report_is_valid_self_contained_html(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = StudyResult.from_events(digits_study())
    path = write_report(result, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    parser = _check_html(text)
    # Every image is embedded; nothing is fetched from elsewhere.
    assert parser.sources
    assert all(src.startswith("data:image/png;base64,") for src in parser.sources)
    assert len(parser.sources) == 2  # progress and hyperparameters
    assert "http://" not in text and "https://" not in text


def test_report_shows_the_best_configuration_cost_and_every_job(tmp_path: Path) -> None:
    result = StudyResult.from_events(digits_study())
    text = html.unescape(result.write_report(tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "Best configuration" in text
    assert '"learning_rate": 0.02' in text and '"num_epoch": 40' in text
    for name in ("digits-ga-0", "digits-ga-1", "digits-ga-3", "digits-ga-6"):
        assert name in text
    assert "max_jobs reached (6 jobs)" in text
    assert f"${result.total_cost:,.4f}" in text
    assert "AlgorithmError: out of memory" in text
    assert "ml.m5.xlarge" in text


def test_report_without_matplotlib_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    text = render_report(StudyResult.from_events(digits_study()))
    _check_html(text)
    assert "<img" not in text
    assert "pip install 'byohpo[plots]'" in html.unescape(text)
    assert "digits-ga-3" in text


def test_report_of_several_objectives_lists_the_pareto_front() -> None:
    text = render_report(StudyResult.from_events(two_objective_study()))
    _check_html(text)
    assert "Pareto front (4 trials)" in text
    if _has_matplotlib():
        assert len(re.findall(r"<img ", text)) == 3


def test_report_of_a_study_where_nothing_completed() -> None:
    events = [study_event(), *job(0, None, config(), failure_reason="ClientError: no <role>")]
    text = render_report(StudyResult.from_events(events))
    _check_html(text)
    assert "no trial of study" in text
    assert "ClientError: no &lt;role&gt;" in text  # escaped, never markup


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
