# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The MXNet MNIST script's own environment (mxnet 1.9.1 needs numpy < 1.24).
include mxnet.mk

.PHONY: demo test test-sdk lint typecheck pytest clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# Bytecode for what `make demo` installed without it (--no-compile), and for byohpo itself,
	@# which every command-line test and dry-run service imports in a process of its own. Where
	@# PYTHONDONTWRITEBYTECODE is set, Python never writes it, and every training job of the
	@# tests compiled scikit-learn and SciPy from source: 805 s for make test, not 459 s.
	@# A file that does not compile (a package's fixture) is no reason to stop.
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib byohpo entry_points >/dev/null || true
	touch $(STAMP)

# The demo needs only byohpo[demo] (the fake AWS, scikit-learn, plots), not the test tools.
# pip's "Collecting"/"Installing" lines are the progress; its full output is in $(VENV)/pip.log.
DEMO_STAMP := $(VENV)/.demo-installed

$(DEMO_STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "make demo: creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "make demo: installing byohpo and what the demo needs into $(VENV) (cold: about a minute)"
	@rm -f $(VENV)/pip.failed
	@{ PYTHONUNBUFFERED=1 $(BIN)/python -m pip install --disable-pip-version-check --no-input --no-compile -e '.[demo]' \
		2>&1 || touch $(VENV)/pip.failed; } | tee $(VENV)/pip.log \
		| grep --line-buffered -oE '^(Collecting [^ ]+|Installing collected packages|Successfully installed)' \
		|| true
	@test ! -e $(VENV)/pip.failed || { tail -20 $(VENV)/pip.log; exit 1; }
	@touch $@

demo: $(DEMO_STAMP)
	$(BIN)/byohpo demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check byohpo tests benchmarks entry_points
	$(BIN)/ruff format --check byohpo tests benchmarks entry_points
	$(BIN)/cfn-lint infra/*.yaml
	$(BIN)/python -m benchmarks.code_size --check

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests run in parallel, one worker per core (pytest-xdist): each test is independent, with
# its own fake AWS, studies directory and, for dry runs, its own background service.
pytest: $(STAMP)
	$(BIN)/pytest -q -n auto

# Converting a notebook's SageMaker SDK Estimator, in an environment of its own: the SDK is a
# large optional extra (v2: about 375 MB; v3: about 1.1 GB).
SDK_VENV := .venv-sdk
test-sdk:
	test -x $(SDK_VENV)/bin/python || $(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SDK_VENV)/bin/python -m pip install --quiet -e '.[test]' 'sagemaker>=2.200,<3'
	SAGEMAKER_SUPPRESS_V2_WARNING=1 $(SDK_VENV)/bin/pytest -q tests/test_job.py tests/sdk

# The same for SDK v3 (ModelTrainer, sagemaker.train.tuner): a larger install, kept out of
# `make test` and run by CI.
SDK3_VENV := .venv-sdk3
.PHONY: test-sdk3
test-sdk3:
	test -x $(SDK3_VENV)/bin/python || $(PYTHON) -m venv $(SDK3_VENV)
	$(SDK3_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SDK3_VENV)/bin/python -m pip install --quiet -e '.[test]' 'sagemaker>=3'
	$(SDK3_VENV)/bin/pytest -q tests/test_job.py tests/sdk

clean:
	rm -rf $(VENV) .venv-mxnet $(SDK_VENV) $(SDK3_VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Benchmarks (docs/benchmarks.md), each writing CSV and a figure to benchmarks/results/. The peer
# libraries (Optuna, Nevergrad) are a benchmark-only extra.
.PHONY: bench bench-quality bench-orchestration bench-time bench-memory bench-stopping
.PHONY: bench-warm-start bench-events
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	# Optuna's GPSampler needs PyTorch; this pinned version resolves to a CPU build here (an
	# unpinned torch pulls a multi-GB CUDA build)
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	touch $(BENCH_STAMP)

bench: bench-quality bench-orchestration bench-time bench-memory bench-stopping bench-async

bench-quality: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.strategy_quality
	$(BIN)/python -m benchmarks.pareto_quality
	nice $(BIN)/python -m benchmarks.model_quality

bench-orchestration: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.orchestration
	$(BIN)/python -m benchmarks.requests

bench-time: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.time_to_result

# The study's memory: log bytes per job, resume time and memory, S3 bytes uploaded per job;
# and a kept dry run's: saving and restoring the fake AWS's S3 objects and log streams.
bench-memory: $(STAMP)
	$(BIN)/python -m benchmarks.memory
	$(BIN)/python -m benchmarks.dry_run_memory
bench-stopping: $(STAMP)
	$(BIN)/python -m benchmarks.early_stopping
bench-warm-start: $(STAMP)
	nice $(BIN)/python -m benchmarks.warm_start

# Asynchronous evolution and islands against generational evolution (slot use, regret per job).
.PHONY: bench-async
bench-async: $(STAMP)
	nice $(BIN)/python -m benchmarks.async_evolution
	nice $(BIN)/python -m benchmarks.async_evolution --sweep --seeds 3
	nice $(BIN)/python -m benchmarks.async_evolution --wide --seeds 2

bench-events: $(STAMP)
	nice -n 10 $(BIN)/python -m benchmarks.job_events

# Issue 15 side by side in one run: polling, events, the article's loop, slot use (one table).
.PHONY: bench-wide
bench-wide: $(STAMP)
	nice -n 10 $(BIN)/python -m benchmarks.wide_studies --workers 2
