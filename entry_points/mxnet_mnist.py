"""Train an MLP on MNIST with MXNet Gluon: a SageMaker training script.

This is the network of SageMaker's MXNet MNIST tuning example (two hidden layers of 128 and
64 units), written with Gluon, with checkpoints so that a job can resume or be warm-started
from another job's state. It runs on SageMaker's MXNet container, or locally in an
environment with mxnet 1.9 (and numpy < 1.24)::

    python mxnet_mnist.py --learning_rate 0.1 --optimizer sgd --num_epoch 10 \\
        --train data/mnist/train --test data/mnist/test --model-dir model

Hyperparameters arrive as command-line arguments (see ``parse_args``). Everything else comes
from the environment SageMaker sets:

* ``SM_CHANNEL_TRAIN`` and ``SM_CHANNEL_TEST``: the MNIST files (gzipped idx-ubyte), e.g.
  ``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz``; any file whose name
  ends in ``images-idx3-ubyte.gz`` or ``labels-idx1-ubyte.gz`` (or is ``images.gz`` or
  ``labels.gz``) is found, in subdirectories too.
* ``SM_MODEL_DIR``: the trained network, exported as ``model-symbol.json`` and
  ``model-0000.params`` (with ``model-shapes.json``), the layout the MXNet serving container
  loads.
* ``SM_CHECKPOINT_DIR`` (default ``/opt/ml/checkpoints``): after every epoch the script saves
  ``model.params`` (the weights), ``trainer.states`` (the optimizer's state) and
  ``checkpoint.json`` (epoch, hyperparameters, origin, metrics). When a checkpoint is there at
  start, training resumes from it; ``num_epoch`` counts all epochs, resumed ones included.
  This job's hyperparameters apply from the next epoch on; the optimizer's state is kept
  unless the checkpoint was made with another optimizer.

Metrics are printed one per line for SageMaker's metric definitions, e.g.::

    Epoch[3] Train-accuracy=0.912345
    Epoch[3] Validation-accuracy=0.950000
    Final Validation-accuracy=0.961111
    train:seconds=12.345

mxnet is imported only after the arguments are parsed, so ``--help`` works without it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

HYPERPARAMETERS = ("learning_rate", "num_epoch", "optimizer", "batch_size", "momentum", "seed")
OPTIMIZERS = ("sgd", "adam")
HIDDEN_UNITS = (128, 64)
CHECKPOINT_PARAMS = "model.params"
CHECKPOINT_STATES = "trainer.states"
CHECKPOINT_INFO = "checkpoint.json"


# ----------------------------------------------------------------------------------------------
# Hyperparameters


def _number(kind: type, name: str, low: float, high: float, low_open: bool = False) -> Callable:
    """An argparse type: a number of ``kind`` within [low, high] (or (low, high])."""

    def parse(text: str) -> Any:
        try:
            value = float(text) if kind is float else int(float(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if kind is int and float(text) != value:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}")
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or value > high:
            bound = f"> {low}" if low_open else f">= {low}"
            raise argparse.ArgumentTypeError(f"{name} must be {bound} and <= {high}, got {text!r}")
        return value

    parse.__name__ = name
    return parse


def _optimizer(text: str) -> str:
    """sgd or adam, case-insensitive (SageMaker's example tunes over "sgd" and "Adam")."""
    if text.lower() not in OPTIMIZERS:
        raise argparse.ArgumentTypeError(
            f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {text!r}"
        )
    return text.lower()


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser that also leaves its error message where SageMaker looks for it."""

    def error(self, message: str) -> NoReturn:
        write_failure_reason(f"bad hyperparameters: {message}", echo=False)
        super().error(message)  # prints the usage and the message, exits with status 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(
        description="Train an MLP on MNIST with MXNet Gluon (a SageMaker training script).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,
    )
    hp = parser.add_argument_group("hyperparameters")
    hp.add_argument(
        "--learning_rate",
        type=_number(float, "learning_rate", 0.0, 10.0, low_open=True),
        default=0.1,
    )
    hp.add_argument(
        "--num_epoch",
        "--epochs",
        dest="num_epoch",
        type=_number(int, "num_epoch", 1, 10_000),
        default=10,
        help="total number of epochs, resumed ones included",
    )
    hp.add_argument("--optimizer", type=_optimizer, default="sgd", help="sgd or adam")
    hp.add_argument("--batch_size", type=_number(int, "batch_size", 1, 100_000), default=100)
    hp.add_argument(
        "--momentum",
        type=_number(float, "momentum", 0.0, 1.0),
        default=0.9,
        help="momentum of sgd (unused by adam)",
    )
    hp.add_argument("--seed", type=_number(int, "seed", 0, 2**31 - 1), default=1)
    hp.add_argument("--log_interval", type=_number(int, "log_interval", 0, 10**9), default=100)

    env = parser.add_argument_group("SageMaker environment")
    env.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    env.add_argument("--test", default=os.environ.get("SM_CHANNEL_TEST"))
    env.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    env.add_argument(
        "--checkpoint-dir", default=os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
    )
    env.add_argument("--hosts", type=json.loads, default=os.environ.get("SM_HOSTS", '["algo-1"]'))
    env.add_argument("--num-gpus", type=int, default=int(os.environ.get("SM_NUM_GPUS", "0")))

    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(
            f"unknown argument(s) {' '.join(unknown)}; "
            f"the hyperparameters are {', '.join(HYPERPARAMETERS)}, log_interval"
        )
    return args


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in HYPERPARAMETERS}


def write_failure_reason(message: str, echo: bool = True) -> None:
    """Print why the job fails, and leave it where SageMaker takes a job's failure reason."""
    if echo:
        print(f"Error: {message}", file=sys.stderr, flush=True)
    output_dir = os.environ.get("SM_OUTPUT_DIR")
    if output_dir and Path(output_dir).is_dir():
        (Path(output_dir) / "failure").write_text(message + "\n")


# ----------------------------------------------------------------------------------------------
# Data


def find_file(root: str, suffixes: tuple[str, ...]) -> Path:
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and path.name.endswith(suffixes):
            return path
    raise FileNotFoundError(f"no file ending in {' or '.join(suffixes)} under {root}")


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped idx-ubyte file, the format of the MNIST files."""
    with gzip.open(path, "rb") as stream:
        _, _, type_code, ndim = struct.unpack(">BBBB", stream.read(4))
        if type_code != 0x08:
            raise ValueError(f"{path} is not an unsigned-byte idx file")
        shape = struct.unpack(f">{ndim}I", stream.read(4 * ndim))
        return np.frombuffer(stream.read(), dtype=np.uint8).reshape(shape)


def load_data(channel: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: images flattened to float32 in [0, 1], labels as float32."""
    images = read_idx(find_file(channel, ("images-idx3-ubyte.gz", "images.gz")))
    labels = read_idx(find_file(channel, ("labels-idx1-ubyte.gz", "labels.gz")))
    if len(images) != len(labels):
        raise ValueError(f"{channel}: {len(images)} images but {len(labels)} labels")
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Training


def epoch_order(seed: int, epoch: int, size: int) -> np.ndarray:
    """The order of the examples in one epoch: the same whether the run was resumed or not."""
    return np.random.RandomState([seed, epoch]).permutation(size)


def _write_atomically(path: Path, write: Callable[[str], Any]) -> None:
    """Write to a temporary name beside ``path``, then rename: readers see old or new, whole."""
    temporary = path.with_name(f".{path.name}.tmp")
    write(str(temporary))
    os.replace(temporary, path)


def save_checkpoint(
    directory: Path, net: Any, trainer: Any, epoch: int, hp: dict, metrics: dict
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomically(directory / CHECKPOINT_PARAMS, net.save_parameters)
    _write_atomically(directory / CHECKPOINT_STATES, trainer.save_states)
    info = {
        "epoch": epoch,
        "hyperparameters": hp,
        "origin": os.environ.get("TRAINING_JOB_NAME", "local"),
        "metrics": metrics,
        "script": Path(__file__).name,
    }
    # Written last: a checkpoint.json always describes complete weights and states.
    _write_atomically(
        directory / CHECKPOINT_INFO,
        lambda path: Path(path).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n"),
    )


def train(args: argparse.Namespace) -> dict[str, float]:
    import mxnet as mx
    from mxnet import autograd, gluon

    hp = hyperparameters(args)
    x_train, y_train = load_data(args.train)
    x_test, y_test = load_data(args.test)
    print(f"Read {len(y_train)} training and {len(y_test)} test images", flush=True)
    ctx = mx.gpu() if args.num_gpus > 0 else mx.cpu()

    mx.random.seed(hp["seed"])
    net = gluon.nn.HybridSequential()
    with net.name_scope():
        for units in HIDDEN_UNITS:
            net.add(gluon.nn.Dense(units, activation="relu"))
        net.add(gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier(magnitude=2.24), ctx=ctx)
    net.hybridize()
    settings = {"learning_rate": hp["learning_rate"]}
    if hp["optimizer"] == "sgd":
        settings["momentum"] = hp["momentum"]
    trainer = gluon.Trainer(net.collect_params(), hp["optimizer"], settings)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    checkpoint_dir = Path(args.checkpoint_dir)
    start_epoch = 0
    if (checkpoint_dir / CHECKPOINT_INFO).is_file():
        info = json.loads((checkpoint_dir / CHECKPOINT_INFO).read_text())
        start_epoch = int(info["epoch"])
        net.load_parameters(str(checkpoint_dir / CHECKPOINT_PARAMS), ctx=ctx)
        print(
            f"Resumed from checkpoint at epoch={start_epoch} (origin={info.get('origin')})",
            flush=True,
        )
        saved = info["hyperparameters"]
        for name in HYPERPARAMETERS:
            if name != "num_epoch" and name in saved and saved[name] != hp[name]:
                print(
                    f"Changed since the checkpoint: {name} {saved[name]} -> {hp[name]}", flush=True
                )
        if saved.get("optimizer") == hp["optimizer"]:
            trainer.load_states(str(checkpoint_dir / CHECKPOINT_STATES))
            # The saved state carries the saved settings: apply this job's.
            trainer.set_learning_rate(hp["learning_rate"])
            if hp["optimizer"] == "sgd":
                trainer.optimizer.momentum = hp["momentum"]
        else:
            print("Optimizer changed since the checkpoint: its state starts anew", flush=True)

    def evaluate(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        metric, total_loss = mx.metric.Accuracy(), 0.0
        for start in range(0, len(y), 1000):
            data = mx.nd.array(x[start : start + 1000], ctx=ctx)
            label = mx.nd.array(y[start : start + 1000], ctx=ctx)
            output = net(data)
            metric.update([label], [output])
            total_loss += loss_fn(output, label).sum().asscalar()
        return float(metric.get()[1]), total_loss / len(y)

    metrics: dict[str, float] = {}
    started = time.perf_counter()
    for epoch in range(start_epoch + 1, hp["num_epoch"] + 1):
        train_metric = mx.metric.Accuracy()
        order = epoch_order(hp["seed"], epoch, len(y_train))
        for batch, start in enumerate(range(0, len(order), hp["batch_size"])):
            index = order[start : start + hp["batch_size"]]
            data = mx.nd.array(x_train[index], ctx=ctx)
            label = mx.nd.array(y_train[index], ctx=ctx)
            with autograd.record():
                output = net(data)
                loss = loss_fn(output, label)
            loss.backward()
            trainer.step(len(index))
            train_metric.update([label], [output])
            if args.log_interval and batch % args.log_interval == 0 and batch > 0:
                print(
                    f"Epoch[{epoch}] Batch[{batch}] batch-accuracy={train_metric.get()[1]:.6f}",
                    flush=True,
                )
        val_accuracy, val_loss = evaluate(x_test, y_test)
        metrics = {
            "Train-accuracy": float(train_metric.get()[1]),
            "Validation-accuracy": val_accuracy,
            "Validation-loss": val_loss,
        }
        for name, value in metrics.items():
            print(f"Epoch[{epoch}] {name}={value:.6f}", flush=True)
        save_checkpoint(checkpoint_dir, net, trainer, epoch, hp, metrics)
    seconds = time.perf_counter() - started

    if not metrics:
        print(f"Nothing left to train: num_epoch={hp['num_epoch']} reached", flush=True)
        val_accuracy, val_loss = evaluate(x_test, y_test)
        metrics = {"Validation-accuracy": val_accuracy, "Validation-loss": val_loss}
    for name in ("Validation-accuracy", "Validation-loss"):
        print(f"Final {name}={metrics[name]:.6f}", flush=True)
    print(f"train:seconds={seconds:.3f}", flush=True)

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    net.export(str(model_dir / "model"))  # model-symbol.json and model-0000.params
    shapes = [{"name": "data", "shape": [hp["batch_size"], x_train.shape[1]]}]
    (model_dir / "model-shapes.json").write_text(json.dumps(shapes) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # exits with status 2 and a message on bad hyperparameters
    if not args.train or not args.test:
        write_failure_reason("no data: set SM_CHANNEL_TRAIN and SM_CHANNEL_TEST")
        return 2
    if len(args.hosts) > 1:
        write_failure_reason(f"this example trains on one instance; the job has {len(args.hosts)}")
        return 2
    print(f"Hyperparameters: {json.dumps(hyperparameters(args), sort_keys=True)}", flush=True)
    try:
        train(args)
    except (OSError, ValueError) as error:
        write_failure_reason(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
