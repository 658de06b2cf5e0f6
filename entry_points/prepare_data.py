"""Write the bundled digits data as SageMaker input channels, for runs without a download.

Two layouts are written, one for each training script in this directory:

* ``digits``: CSV channels for ``digits_mlp.py``::

      OUTPUT/train/digits-train.csv
      OUTPUT/validation/digits-validation.csv

  One example per line, no header: the label (0-9) in the first column, then the 64 pixel
  values (integers 0-16, row by row) of the 8x8 image. This is the CSV layout of
  SageMaker's built-in algorithms (label first, no header).

* ``mnist``: the MNIST file format (gzipped idx-ubyte files) for ``mxnet_mnist.py``::

      OUTPUT/train/train-images-idx3-ubyte.gz
      OUTPUT/train/train-labels-idx1-ubyte.gz
      OUTPUT/test/t10k-images-idx3-ubyte.gz
      OUTPUT/test/t10k-labels-idx1-ubyte.gz

  The 8x8 digits are enlarged to 20x20 (bilinear) and centred in a 28x28 frame with pixel
  values 0-255, as in MNIST. It is a small stand-in for MNIST (1,797 images, not 70,000).

Both use the same fixed, stratified split: 1,437 examples for training and 360 held out.
``digits_mlp.py`` falls back to exactly this split when it is given no channels.

Usage::

    python prepare_data.py OUTPUT_DIR            # writes OUTPUT_DIR/digits and OUTPUT_DIR/mnist
    python prepare_data.py OUTPUT_DIR --layout mnist
"""

from __future__ import annotations

import argparse
import gzip
import struct
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SPLIT_SEED = 0
VALIDATION_FRACTION = 0.2
MNIST_SIDE = 28
MNIST_DIGIT_SIDE = 20

# idx format: magic number = 0x00 0x00 <type code> <number of dimensions>; 0x08 = unsigned byte.
_IDX_UBYTE = 0x08


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bundled digits as ``(x_train, y_train, x_validation, y_validation)``.

    Images are flattened to 64 integer pixel values 0-16; labels are integers 0-9.
    """
    digits = load_digits()
    x = digits.data.astype(np.int64)
    y = digits.target.astype(np.int64)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=VALIDATION_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    return x_train, y_train, x_val, y_val


def write_csv_channel(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """Write one CSV channel file: label first, then the features, no header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = np.column_stack([y, x]).astype(np.int64)
    np.savetxt(path, table, fmt="%d", delimiter=",")
    return path


def write_digits_channels(output_dir: str | Path) -> dict[str, Path]:
    """Write the ``train`` and ``validation`` channels of ``digits_mlp.py`` under ``output_dir``.

    Returns the channel directories by channel name.
    """
    output_dir = Path(output_dir)
    x_train, y_train, x_val, y_val = digits_split()
    channels = {"train": output_dir / "train", "validation": output_dir / "validation"}
    write_csv_channel(channels["train"] / "digits-train.csv", x_train, y_train)
    write_csv_channel(channels["validation"] / "digits-validation.csv", x_val, y_val)
    return channels


def _interpolation_matrix(source: int, target: int) -> np.ndarray:
    """A (target, source) matrix that resamples a 1-d signal linearly, corners aligned."""
    positions = np.linspace(0.0, source - 1.0, target)
    lower = np.floor(positions).astype(int)
    upper = np.minimum(lower + 1, source - 1)
    weight = positions - lower
    matrix = np.zeros((target, source))
    matrix[np.arange(target), lower] += 1.0 - weight
    matrix[np.arange(target), upper] += weight
    return matrix


def to_mnist_images(pixels: np.ndarray) -> np.ndarray:
    """Turn flattened 8x8 digits (values 0-16) into 28x28 uint8 images like MNIST's."""
    images = pixels.reshape(-1, 8, 8).astype(np.float64) / 16.0
    resample = _interpolation_matrix(8, MNIST_DIGIT_SIDE)
    enlarged = resample @ images @ resample.T  # (n, 20, 20), separable bilinear
    margin = (MNIST_SIDE - MNIST_DIGIT_SIDE) // 2
    framed = np.zeros((len(images), MNIST_SIDE, MNIST_SIDE))
    framed[:, margin : margin + MNIST_DIGIT_SIDE, margin : margin + MNIST_DIGIT_SIDE] = enlarged
    return np.clip(np.rint(framed * 255.0), 0, 255).astype(np.uint8)


def write_idx_ubyte(path: Path, array: np.ndarray) -> Path:
    """Write an unsigned-byte array in the (gzipped) idx format of the MNIST files."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, _IDX_UBYTE, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 makes the files byte-for-byte reproducible.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(header + array.tobytes())
    return path


def read_idx_ubyte(path: str | Path) -> np.ndarray:
    """Read a gzipped idx-ubyte file (the reverse of :func:`write_idx_ubyte`)."""
    with gzip.open(path, "rb") as stream:
        zero, zero_too, type_code, ndim = struct.unpack(">BBBB", stream.read(4))
        if zero or zero_too or type_code != _IDX_UBYTE:
            raise ValueError(f"{path} is not an unsigned-byte idx file")
        shape = struct.unpack(f">{ndim}I", stream.read(4 * ndim))
        data = np.frombuffer(stream.read(), dtype=np.uint8)
    return data.reshape(shape)


def write_mnist_channels(output_dir: str | Path) -> dict[str, Path]:
    """Write the digits in MNIST format: the ``train`` and ``test`` channels of ``mxnet_mnist.py``.

    Returns the channel directories by channel name.
    """
    output_dir = Path(output_dir)
    x_train, y_train, x_test, y_test = digits_split()
    channels = {"train": output_dir / "train", "test": output_dir / "test"}
    for channel, prefix, x, y in (
        ("train", "train", x_train, y_train),
        ("test", "t10k", x_test, y_test),
    ):
        write_idx_ubyte(channels[channel] / f"{prefix}-images-idx3-ubyte.gz", to_mnist_images(x))
        write_idx_ubyte(channels[channel] / f"{prefix}-labels-idx1-ubyte.gz", y.astype(np.uint8))
    return channels


def write_all(output_dir: str | Path) -> dict[str, dict[str, Path]]:
    """Write both layouts: ``output_dir/digits/...`` and ``output_dir/mnist/...``."""
    output_dir = Path(output_dir)
    return {
        "digits": write_digits_channels(output_dir / "digits"),
        "mnist": write_mnist_channels(output_dir / "mnist"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the bundled digits data as SageMaker input channels."
    )
    parser.add_argument("output_dir", type=Path, help="directory to write the channels into")
    parser.add_argument(
        "--layout",
        choices=["all", "digits", "mnist"],
        default="all",
        help="'digits': CSV channels train/ and validation/ directly under OUTPUT_DIR; "
        "'mnist': idx files in train/ and test/ directly under OUTPUT_DIR; "
        "'all' (default): both, under OUTPUT_DIR/digits and OUTPUT_DIR/mnist",
    )
    args = parser.parse_args(argv)
    if args.layout == "digits":
        written = {"digits": write_digits_channels(args.output_dir)}
    elif args.layout == "mnist":
        written = {"mnist": write_mnist_channels(args.output_dir)}
    else:
        written = write_all(args.output_dir)
    for layout, channels in written.items():
        for channel, directory in channels.items():
            print(f"{layout} {channel}: {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
