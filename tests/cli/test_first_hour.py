"""The first hour: each mistake a new user made gets exit 2 and a message, not a traceback.

Each case runs the command a user would, and checks the exit status, a message that says
what must hold, what was given and the fix, that no traceback shows, and that nothing
was recorded or launched (no studies folder appears).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import byohpo
from byohpo.cli import main
from byohpo.errors import JobDefinitionError, UserError
from byohpo.simulator import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits-ga.toml"
ENTRY_POINTS = EXAMPLE.parent.parent / "entry_points"
BASE = EXAMPLE.read_text().replace(
    'source_dir = "../entry_points"', f'source_dir = "{ENTRY_POINTS}"'
)


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


WITH_CHANNEL = edit(
    BASE,
    "max_runtime_seconds = 600\n",
    'max_runtime_seconds = 600\ninputs = { train = "s3://byohpo-demo/digits/train" }\n',
)

# case: (study file text, what the message must contain: key, what must hold, the fix)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "dry_run is not a table": (
        BASE.replace("[pipeline]", "dry_run = 5\n[pipeline]", 1).replace(
            "[study]\n", "dry_run = 5\n[study]\n", 1
        ),
        ("[dry_run]", "must be a table", "5", "Write [dry_run]"),
    ),
    "dry_run inputs is not a table": (
        WITH_CHANNEL + '\n[dry_run]\ninputs = "data"\n',
        ("[dry_run.inputs]", "channel = local folder", "'data'", "inputs = { train ="),
    ),
    "dry_run input folder missing": (
        WITH_CHANNEL + '\n[dry_run]\ninputs = { train = "no-such-folder" }\n',
        ("[dry_run.inputs.train]", "existing local folder", "no-such-folder", "Create it"),
    ),
    "prices is not a table": (
        "prices = 5\n" + BASE,
        ("[prices]", "must be a table", "5", "Write [prices]"),
    ),
    "negative price": (
        BASE + '\n[prices]\n"ml.m5.large" = -0.1\n',
        ("[prices.ml.m5.large]", "0 or more", "-0.1", "hourly price"),
    ),
    "max_runtime nan": (
        edit(BASE, "seed = 1\n", "seed = 1\nmax_runtime = nan\n"),
        ("[study.max_runtime]", "positive number of seconds", "nan", "leave max_runtime out"),
    ),
    "max_cost nan": (
        edit(BASE, "seed = 1\n", "seed = 1\nmax_cost = nan\n"),
        ("[study.max_cost]", "positive number of dollars", "nan", "leave max_cost out"),
    ),
    "poll_interval negative": (
        edit(BASE, "seed = 1\n", "seed = 1\npoll_interval = -5\n"),
        ("[study.poll_interval]", "positive number", "-5", "poll_interval = 30"),
    ),
    "on_interrupt maybe": (
        edit(BASE, "seed = 1\n", 'seed = 1\non_interrupt = "maybe"\n'),
        ("[study.on_interrupt]", "'keep'", "'maybe'", 'on_interrupt = "keep"'),
    ),
    "empty name": (
        edit(BASE, 'name = "digits-ga"', 'name = ""'),
        ("[study.name]", "1 to 100 letters", "''", 'name = "my-study"'),
    ),
    "instance type that does not exist": (
        edit(BASE, 'instance_type = "ml.m5.large"', 'instance_type = "ml.m5.huge"'),
        ("[job.instance_type]", "SageMaker's training instance types", "ml.m5.huge", "ml.m5.large"),
    ),
}


@pytest.fixture
def studies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    return tmp_path / "studies"


def assert_user_mistake(status: int, err: str, *parts: str) -> None:
    assert status == 2, err
    assert err.startswith("byohpo: error: "), err
    for part in parts:
        assert part in err, (part, err)
    assert "Traceback" not in err


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_value_in_a_study_file_exits_2_before_anything_starts(
    case: str, tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, parts = CASES[case]
    path = tmp_path / "study.toml"
    path.write_text(text)
    status = main(["run", str(path), "--dry-run", "--quiet"])
    assert_user_mistake(status, capsys.readouterr().err, str(path), *parts)
    assert not studies.exists()  # nothing recorded, no fake AWS started


def test_a_study_file_that_is_not_utf8_or_is_a_folder(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(
        BASE.replace("A genetic", "Ein genetischer Algorithmus für").encode("latin-1")
    )
    status = main(["run", str(latin1), "--dry-run"])
    assert_user_mistake(status, capsys.readouterr().err, "must be UTF-8", "0xfc", "Save the file")
    status = main(["run", str(tmp_path), "--dry-run"])
    assert_user_mistake(status, capsys.readouterr().err, "must be a file", "a directory", ".toml")
    assert not studies.exists()


def simulated_study(studies: Path, name: str, *, max_jobs: int = 6) -> byohpo.StudyResult:
    """A small finished study in the studies folder, run on the simulator (no waiting)."""
    job = byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.m5.large",
        output_path="s3://my-bucket/studies",
        metric_definitions={"validation:accuracy": r"accuracy=([0-9\.]+)"},
    )
    sim = Simulator(lambda hp: {"validation:accuracy": float(hp["x"])}, duration=600, seed=0)
    return byohpo.Tuner(
        job,
        {"x": byohpo.Continuous(0.0, 1.0), "y": byohpo.Integer(1, 9)},
        objective="validation:accuracy",
        max_jobs=max_jobs,
        max_parallel_jobs=2,
        seed=0,
        backend=sim,
        study_name=name,
        store=studies / name,
        progress=False,
    ).run()


def test_a_report_into_a_missing_folder_is_refused_before_anything_is_printed(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulated_study(studies, "reported")
    status = main(["results", "reported", "--report", str(tmp_path / "no-such-dir" / "r.html")])
    captured = capsys.readouterr()
    assert_user_mistake(status, captured.err, "folder must exist", "no-such-dir", "mkdir -p")
    assert captured.out == ""


def test_byohpo_studies_naming_a_file_is_a_user_mistake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "studies.txt"
    a_file.write_text("not a folder")
    monkeypatch.setenv("BYOHPO_STUDIES", str(a_file))
    for command in (["status", "x"], ["list"], ["run", str(EXAMPLE), "--dry-run"]):
        status = main(command)
        assert_user_mistake(
            status, capsys.readouterr().err, "BYOHPO_STUDIES must name a directory", "unset it"
        )


def byohpo_process(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "byohpo.cli", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def test_output_into_a_closed_pipe_ends_quietly_as_other_tools_do(
    tmp_path: Path, studies: Path
) -> None:
    simulated_study(studies, "piped", max_jobs=30)
    env = {**os.environ, "BYOHPO_STUDIES": str(studies)}
    for command in (["status", "piped"], ["results", "piped"], ["list"]):
        read, write = os.pipe()
        os.close(read)  # `| head` that has already gone: every write fails
        try:
            done = subprocess.run(
                [sys.executable, "-m", "byohpo.cli", *command],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                check=False,
            )
        finally:
            os.close(write)
        assert done.returncode == 141, done.stderr
        assert done.stderr == ""


@pytest.fixture
def no_aws(tmp_path: Path) -> dict[str, str]:
    """An environment with no AWS credentials, region or profile anywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        BYOHPO_STUDIES=str(tmp_path / "studies"),
    )
    return env


def test_without_aws_settings_the_message_says_how_to_set_them_or_to_dry_run(
    tmp_path: Path, no_aws: dict[str, str]
) -> None:
    no_region = byohpo_process("run", str(EXAMPLE), env=no_aws, cwd=tmp_path)
    assert no_region.returncode == 2, no_region.stderr
    assert "needs an AWS region" in no_region.stderr and "--region" in no_region.stderr
    assert "--dry-run" in no_region.stderr and "Traceback" not in no_region.stderr
    assert "SageMakerBackend(" not in no_region.stderr  # no Python advice on the command line

    no_credentials = byohpo_process(
        "run", str(EXAMPLE), "--region", "eu-west-1", env=no_aws, cwd=tmp_path
    )
    assert no_credentials.returncode == 2, no_credentials.stderr
    err = no_credentials.stderr
    assert "needs AWS credentials" in err and "aws configure" in err and "--profile" in err
    assert "--dry-run" in err and "Traceback" not in err and len(err.splitlines()) <= 2

    no_profile = byohpo_process(
        "run", str(EXAMPLE), "--profile", "nobody", env=no_aws, cwd=tmp_path
    )
    assert no_profile.returncode == 2, no_profile.stderr
    assert "profile must exist" in no_profile.stderr and "'nobody'" in no_profile.stderr
    assert not (tmp_path / "studies").exists()


def test_the_tuner_refuses_what_can_never_work() -> None:
    job = byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://my-bucket/studies",
        metric_definitions={"acc": r"acc=([0-9\.]+)"},
    )
    space = {"x": byohpo.Continuous(0.0, 1.0)}
    with pytest.raises(UserError, match=r"backend must be a backend object.*FakeSageMaker"):
        byohpo.Tuner(job, space, objective="acc", backend="fake")
    with pytest.raises(UserError, match=r"max_runtime must be a positive number.*nan"):
        byohpo.Tuner(job, space, objective="acc", max_runtime=math.nan)
    with pytest.raises(UserError, match=r"max_cost must be a positive number.*inf"):
        byohpo.Tuner(job, space, objective="acc", max_cost=math.inf)
    with pytest.raises(UserError, match=r"poll_interval must be a positive number.*-1"):
        byohpo.Tuner(job, space, objective="acc", poll_interval=-1)
    with pytest.raises(UserError, match="a study name is 1 to 100"):
        byohpo.Tuner(job, space, objective="acc", study_name="")
    with pytest.raises(JobDefinitionError, match=r"'ml.m5.huge'.*Did you mean 'ml.m5"):
        byohpo.TrainingJob(
            entry_point=None,
            image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
            role="arn:aws:iam::123456789012:role/SageMakerRole",
            instance_type="ml.m5.huge",
        )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"byohpo {byohpo.__version__}"
