"""entry_points/prepare_data.py writes channels that the training scripts read."""

from __future__ import annotations

import gzip
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ModuleLoader = Callable[[str], Any]  # the entry_point_module fixture of conftest.py


def test_digits_channels_hold_the_bundled_split_as_csv(
    entry_point_module: ModuleLoader, tmp_path: Path
) -> None:
    prepare_data = entry_point_module("prepare_data")
    channels = prepare_data.write_digits_channels(tmp_path)
    assert channels == {"train": tmp_path / "train", "validation": tmp_path / "validation"}
    train = np.loadtxt(tmp_path / "train" / "digits-train.csv", delimiter=",")
    validation = np.loadtxt(tmp_path / "validation" / "digits-validation.csv", delimiter=",")
    assert train.shape == (1437, 65) and validation.shape == (360, 65)
    assert set(np.unique(train[:, 0])) == set(range(10))
    assert train[:, 1:].min() == 0 and train[:, 1:].max() == 16


def test_mnist_channels_are_idx_files_that_the_mxnet_script_reads(
    entry_point_module: ModuleLoader, tmp_path: Path
) -> None:
    prepare_data = entry_point_module("prepare_data")
    mxnet_mnist = entry_point_module("mxnet_mnist")  # reads the data without mxnet
    channels = prepare_data.write_mnist_channels(tmp_path)
    assert sorted(path.name for path in channels["train"].iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    assert sorted(path.name for path in channels["test"].iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    with gzip.open(channels["train"] / "train-images-idx3-ubyte.gz") as images:
        # magic 0x00000803 (unsigned bytes, 3 dimensions), then the dimensions
        assert struct.unpack(">4I", images.read(16)) == (0x803, 1437, 28, 28)

    images = prepare_data.read_idx_ubyte(channels["train"] / "train-images-idx3-ubyte.gz")
    assert images.shape == (1437, 28, 28) and images.dtype == np.uint8
    assert images.max() == 255
    assert not images[:, :4].any() and not images[:, -4:].any()  # a 4-pixel margin, as MNIST

    _, y_train, _, y_test = prepare_data.digits_split()
    pixels, labels = mxnet_mnist.load_data(str(channels["train"]))
    assert pixels.shape == (1437, 784) and pixels.dtype == np.float32
    assert pixels.min() >= 0.0 and pixels.max() == 1.0
    np.testing.assert_array_equal(labels, y_train)
    _, test_labels = mxnet_mnist.load_data(str(channels["test"]))
    np.testing.assert_array_equal(test_labels, y_test)


def test_enlarging_keeps_the_digit(entry_point_module: ModuleLoader) -> None:
    prepare_data = entry_point_module("prepare_data")
    digit = np.zeros((1, 64))
    digit[0, 0] = 16  # the top-left pixel on, full intensity
    image = prepare_data.to_mnist_images(digit)[0]
    assert image[4, 4] == 255 and image[4:24, 4:24].sum() > 255
    assert image[12:, 12:].sum() == 0


def test_the_command_line_writes_both_layouts(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "entry_points" / "prepare_data.py"
    completed = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert re.search(r"^mnist test: ", completed.stdout, re.MULTILINE)
    assert (tmp_path / "digits" / "train" / "digits-train.csv").is_file()
    assert (tmp_path / "mnist" / "test" / "t10k-labels-idx1-ubyte.gz").is_file()
