"""The HTML report: one self-contained file a user can open or mail."""

from __future__ import annotations

import html
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from byohpo.results import StudyResult
from byohpo.results._importance import importance
from byohpo.results._report import render_report, write_report
from tests.test_results import config, digits_study, job, study_event, two_objective_study

VOID = {"meta", "img", "br", "hr", "link", "input", "col"}


class _Nesting(HTMLParser):
    """Checks that every element is closed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.sources: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.sources += [v or "" for k, v in attrs if k == "src"]
        self.links += [v or "" for k, v in attrs if k == "href"]
        self.tags.append(tag)
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
    # Every image and script is embedded; nothing is fetched from elsewhere.
    assert parser.sources
    assert all(src.startswith("data:image/png;base64,") for src in parser.sources)
    assert len(parser.sources) == 2  # progress and hyperparameters
    assert "link" not in parser.tags  # no stylesheet from elsewhere
    # The only addresses are links a reader may follow: each job's console page and logs.
    assert parser.links
    assert all(
        link.startswith("https://us-east-1.console.aws.amazon.com/") for link in parser.links
    )


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


def learning_rate_study(backend: str | None = None) -> StudyResult:
    """30 trials whose accuracy follows the learning rate; epochs and optimizer are noise."""
    rng = np.random.default_rng(0)
    events = [study_event(**({"backend": backend} if backend else {}))]
    for tid in range(30):
        lr = float(rng.uniform(0.0001, 0.05))
        epochs = int(rng.integers(10, 60))
        optimizer = str(rng.choice(["sgd", "adam"]))
        accuracy = 0.5 + 8 * lr + float(rng.normal(0, 0.01))
        events += job(tid, accuracy, config(lr, epochs, optimizer))
    return StudyResult.from_events(events)


def test_importance_finds_the_hyperparameter_that_drives_the_objective() -> None:
    result = learning_rate_study()
    found = importance(result.table(), result.parameter_columns, "objective")
    assert found[0].parameter == "learning_rate" and found[0].share > 0.7
    others = {i.parameter: i.share for i in found[1:]}
    assert {"num_epoch", "optimizer"} <= set(others)
    assert all(share < 0.15 for share in others.values())
    assert importance(result.table().head(4), result.parameter_columns, "objective") == []


def test_report_has_parallel_coordinates_importance_and_a_link_per_job(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    text = write_report(learning_rate_study(), tmp_path / "r.html").read_text(encoding="utf-8")
    parser = _check_html(text)
    assert 'id="parallel-coordinates"' in text and "Parcoords" not in text.split("<body>")[0]
    assert "<script src" not in text  # plotly.js is inlined, not fetched
    importance_section = text.split("<h2>Hyperparameter importance</h2>")[1].split("<h2>")[0]
    assert importance_section.index("learning_rate") < importance_section.index("num_epoch")
    consoles = [link for link in parser.links if "/sagemaker/home" in link]
    logs = [link for link in parser.links if "/cloudwatch/home" in link]
    assert len(consoles) == len(logs) == 30
    assert consoles[7].endswith("#/jobs/digits-ga-7")
    assert "logStreamNameFilter$3Ddigits-ga-7$252F" in logs[7]


def test_a_dry_run_report_has_no_console_links() -> None:
    text = render_report(learning_rate_study(backend="FakeSageMaker"))
    assert "console.aws.amazon.com" not in text and "AWS console" not in text


@pytest.fixture
def browser() -> Any:
    """Headless Chromium through chromedriver (Debian: chromium, chromium-driver)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_report_sorts_its_trials_and_draws_its_plot_in_a_browser(
    tmp_path: Path, browser: Any
) -> None:
    pytest.importorskip("plotly")
    from selenium.webdriver.common.by import By

    result = learning_rate_study()
    path = write_report(result, tmp_path / "report.html")
    browser.get(path.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # plotly drew the parallel coordinates from the inlined script, with no network.
    assert browser.find_elements(By.CSS_SELECTOR, "#parallel-coordinates .parcoords")

    table = browser.find_element(By.CSS_SELECTOR, "table.sortable")
    names = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    column = names.index("objective")

    def objectives() -> list[float]:
        cells = table.find_elements(By.CSS_SELECTOR, f"tbody tr td:nth-child({column + 1})")
        return [float(c.get_attribute("data-sort")) for c in cells]

    expected = sorted(result.table()["objective"].tolist())
    header = table.find_elements(By.CSS_SELECTOR, "thead th")[column]
    header.click()
    assert objectives() == pytest.approx(expected)
    header.click()
    assert objectives() == pytest.approx(expected[::-1])
    # The table scrolls inside the page instead of widening it.
    page_width = browser.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= browser.execute_script("return window.innerWidth")
