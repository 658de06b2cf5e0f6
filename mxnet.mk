# The environment of entry_points/mxnet_mnist.py, apart from the project's: mxnet 1.9.1 breaks
# with numpy >= 1.24, and byohpo needs numpy >= 1.26. Included from the Makefile (it uses the
# Makefile's BIN and STAMP, the project's own environment, to write the data).
#
#   make mxnet-env      create .venv-mxnet with mxnet 1.9.1 and numpy < 1.24
#   make mxnet-smoke    train mxnet_mnist.py for one epoch on the digits in MNIST format
#
# mxnet 1.9.1 is on PyPI as a py3 wheel for x86_64 Linux (and macOS); numpy < 1.24 has wheels
# for Python 3.8-3.11 only. MXNET_PYTHON picks the first such Python on PATH; set it to use
# another (make mxnet-env MXNET_PYTHON=/usr/bin/python3.10).

MXNET_VENV := .venv-mxnet
MXNET_STAMP := $(MXNET_VENV)/.installed
MXNET_SMOKE := build/mxnet-smoke
ifeq ($(origin MXNET_PYTHON),undefined)
MXNET_PYTHON := $(shell for p in python3.11 python3.10 python3.9 python3.8 python3; do \
	$$p -c 'import sys; assert (3, 8) <= sys.version_info[:2] <= (3, 11); print(sys.executable)' \
	2>/dev/null && break; done)
endif

.PHONY: mxnet-env mxnet-smoke

mxnet-env: $(MXNET_STAMP)

$(MXNET_STAMP): mxnet.mk
	@if [ -z "$(MXNET_PYTHON)" ]; then \
	  echo "mxnet-env: no Python 3.8-3.11 found on PATH. mxnet 1.9.1 needs numpy < 1.24," \
	    "which has wheels for Python 3.8-3.11 only. Install one (on Debian or Ubuntu:" \
	    "apt-get install python3.11-venv) or name it: make mxnet-env MXNET_PYTHON=/path/to/python" >&2; \
	  exit 1; \
	fi
	@case "$$(uname -s)-$$(uname -m)" in Linux-x86_64|Darwin-x86_64) ;; \
	  *) echo "mxnet-env: mxnet 1.9.1 has wheels for x86_64 Linux and macOS only," \
	       "not for $$(uname -s) $$(uname -m); use SageMaker's MXNet container instead" >&2; \
	     exit 1;; \
	esac
	rm -rf $(MXNET_VENV)
	$(MXNET_PYTHON) -m venv $(MXNET_VENV)
	echo '*' > $(MXNET_VENV)/.gitignore  # the environment is never committed
	$(MXNET_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MXNET_VENV)/bin/python -m pip install --quiet 'mxnet==1.9.1' 'numpy<1.24' || { \
	  echo "mxnet-env: could not install mxnet 1.9.1 and numpy < 1.24 with $(MXNET_PYTHON)" >&2; \
	  exit 1; }
	$(MXNET_VENV)/bin/python -c 'import mxnet, numpy; print("mxnet", mxnet.__version__, "numpy", numpy.__version__)'
	touch $@

mxnet-smoke: $(MXNET_STAMP) $(STAMP)
	rm -rf $(MXNET_SMOKE)
	$(BIN)/python entry_points/prepare_data.py --layout mnist $(MXNET_SMOKE)/data
	mkdir -p $(MXNET_SMOKE)/output
	SM_CHANNEL_TRAIN=$(MXNET_SMOKE)/data/train SM_CHANNEL_TEST=$(MXNET_SMOKE)/data/test \
	SM_MODEL_DIR=$(MXNET_SMOKE)/model SM_CHECKPOINT_DIR=$(MXNET_SMOKE)/checkpoints \
	SM_OUTPUT_DIR=$(MXNET_SMOKE)/output \
	  $(MXNET_VENV)/bin/python entry_points/mxnet_mnist.py \
	    --num_epoch 1 --learning_rate 0.1 --optimizer sgd --batch_size 100 \
	  | tee $(MXNET_SMOKE)/log.txt
	grep -q '^Final Validation-accuracy=' $(MXNET_SMOKE)/log.txt
	test -f $(MXNET_SMOKE)/model/model-symbol.json
	test -f $(MXNET_SMOKE)/checkpoints/checkpoint.json
	@echo "mxnet-smoke: mxnet_mnist.py trained one epoch; model in $(MXNET_SMOKE)/model"
