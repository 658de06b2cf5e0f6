"""Each way a study's log gets damaged, as a user meets it on the command line.

``status`` and ``results`` show everything readable and name the damage; ``resume``
goes on when nothing is lost, or refuses with exit 2, the line and the fix
(``byohpo repair``); nothing is relaunched and no traceback is printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import byohpo
from byohpo.cli import main
from byohpo.study._store import Store

from .test_resume_exact import METRIC, SPACE, job, simulator

NAME = "damaged"
needs_permissions = pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads and writes whatever the permissions say"
)


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished 12-job study in the studies folder; returns its log."""
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    byohpo.Tuner(
        job(),
        SPACE,
        strategy="random",
        objective=METRIC,
        max_jobs=12,
        max_parallel_jobs=3,
        seed=1,
        study_name=NAME,
        progress=False,
        backend=simulator(),
    ).run()
    return tmp_path / "studies" / NAME / "events.jsonl"


def cut_finished(log: Path) -> list[str]:
    """Drop the last lines (the study's end) so that a resume has work to do; the lines."""
    lines = log.read_text().splitlines(keepends=True)[:-8]
    log.write_text("".join(lines))
    return lines


def test_a_torn_last_line_loses_nothing_and_the_study_resumes(study: Path) -> None:
    cut_finished(study)
    with open(study, "a") as f:
        f.write('{"event":"result","trial_id":11,"sta')
    assert main(["status", NAME]) == 0
    result = byohpo.Tuner.resume(NAME, backend=simulator(), progress=False)
    assert len(result.table()) == 12 and result.log.damage == []


def test_a_garbage_line_is_named_by_status_and_results_and_resume_refuses(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = cut_finished(study)
    lines.insert(10, "#### garbage ####\n")
    study.write_text("".join(lines))
    assert main(["status", NAME]) == 0
    out = capsys.readouterr().out
    assert "12 trials" in out and "line 11" in out and "garbage" in out
    assert f"byohpo repair {NAME}" in out
    assert main(["results", NAME, "--format", "csv"]) == 0
    shown = capsys.readouterr()
    assert len(shown.out.strip().splitlines()) == 13 and "line 11" in shown.err
    before = study.read_bytes()
    assert main(["resume", NAME]) == 2
    err = capsys.readouterr().err
    assert "line 11" in err and f"byohpo repair {NAME}" in err and "Traceback" not in err
    assert study.read_bytes() == before, "a refused resume writes nothing"


def test_repair_sets_the_damaged_lines_aside_and_the_study_resumes(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = cut_finished(study)
    lines.insert(10, "#### garbage ####\n")
    study.write_text("".join(lines))
    assert main(["repair", NAME]) == 0
    assert "set 1 damaged line(s) aside" in capsys.readouterr().out
    assert (study.parent / "events.damaged.jsonl").read_text() == "#### garbage ####\n"
    result = byohpo.Tuner.resume(NAME, backend=simulator(), progress=False)
    assert len(result.table()) == 12 and result.stop_reason == "max_jobs reached (12 jobs)"
    assert main(["repair", NAME]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_a_log_cut_in_the_middle_of_a_line_is_damage_named_by_its_line(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = study.read_text()
    middle = text.index('"event":"submitted"')
    study.write_text(text[: middle + 10] + text[middle + 60 :])  # bytes lost mid-line
    assert main(["status", NAME]) == 0
    out = capsys.readouterr().out
    assert "damaged: 1 line(s)" in out and "not JSON" in out
    assert main(["resume", NAME]) == 2


def test_an_event_of_a_missing_field_is_named_not_a_key_error(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = study.read_text().splitlines(keepends=True)
    lines[5] = '{"event":"result","status":"Completed"}\n'
    study.write_text("".join(lines))
    assert main(["status", NAME]) == 0
    assert "line 6" in capsys.readouterr().out
    assert main(["resume", NAME]) == 2
    assert "KeyError" not in capsys.readouterr().err


def test_a_missing_log_is_no_study_and_a_new_run_is_a_new_study(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = Store(study.parent).load()
    study.unlink()
    assert main(["status", NAME]) == 2
    assert "no study found" in capsys.readouterr().err
    assert main(["resume", NAME]) == 2
    fresh = byohpo.Tuner(
        job(),
        SPACE,
        strategy="random",
        objective=METRIC,
        max_jobs=3,
        max_parallel_jobs=3,
        seed=2,
        study_name=NAME,
        progress=False,
        backend=simulator(),
    ).run()
    assert fresh.log.study_id != old.study_id
    old_names = {t.job_name for t in old.trials.values()}
    assert not old_names & set(fresh.table()["job_name"])


@needs_permissions
def test_a_read_only_log_is_shown_and_resume_says_how_to_fix_it(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut_finished(study)
    study.chmod(0o444)
    assert main(["status", NAME]) == 0
    assert main(["resume", NAME]) == 2
    err = capsys.readouterr().err
    assert "must be writable" in err and "chmod" in err and "Traceback" not in err


@needs_permissions
def test_an_unreadable_study_directory_is_named_with_the_fix(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study.parent.chmod(0o000)
    try:
        assert main(["status", NAME]) == 2
        assert "chmod" in capsys.readouterr().err
    finally:
        study.parent.chmod(0o755)
