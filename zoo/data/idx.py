"""Reading and writing IDX files (the MNIST / Fashion-MNIST file format).

An IDX file is a 4-byte magic number (two zero bytes, a dtype code, the
number of dimensions), one big-endian uint32 per dimension, then the data in
row-major order. The files may be gzipped; we tell by the gzip magic bytes, not
by the file name, because distributions rename and re-compress them.

The error types of `zoo.data` live here, in its lowest layer, so that every
module of the package can raise them without import cycles.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np


class DataNotFoundError(RuntimeError):
    """Data is missing and cannot be fetched; the message says what to get and where to put it."""


class DataFormatError(ValueError):
    """An input file is corrupt; the message names the file and what is wrong."""


# IDX dtype codes; all multi-byte types are big-endian.
_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder(">"): code for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"

# The file names of one split, in the spellings found in the wild
# (upstream `train-images-idx3-ubyte`, some mirrors `train-images.idx3-ubyte`),
# each gzipped or not.
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}
_KINDS = {"images": "idx3", "labels": "idx1"}


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _parse_header(path: Path, f) -> tuple[np.dtype, tuple[int, ...]]:
    magic = f.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _DTYPES:
        raise DataFormatError(
            f"{path}: not an IDX file (bad magic number {magic.hex() or '<empty>'}; "
            "expected 0000 followed by a dtype code such as 08 and the number of dimensions)"
        )
    ndim = magic[3]
    raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise DataFormatError(f"{path}: truncated IDX header ({ndim} dimensions announced)")
    return _DTYPES[magic[2]], struct.unpack(f">{ndim}I", raw)


def read_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...]]:
    """Returns (dtype, shape) of an IDX file, reading only its header."""
    path = Path(path)
    try:
        with _open(path) as f:
            return _parse_header(path, f)
    except (OSError, EOFError, zlib.error) as e:
        raise DataFormatError(f"{path}: cannot read IDX header ({e})") from None


def read(path: str | os.PathLike) -> np.ndarray:
    """Reads a whole IDX file into a native-endian numpy array.

    Raises DataFormatError naming the file when the magic number is wrong, the
    gzip stream is broken, or the data is shorter or longer than the header says.
    """
    path = Path(path)
    try:
        with _open(path) as f:
            dtype, shape = _parse_header(path, f)
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        # gzip reports a cut-off stream as EOFError and garbage as BadGzipFile (an OSError).
        raise DataFormatError(f"{path}: cannot read IDX file ({e})") from None
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataFormatError(
            f"{path}: {what}: header announces shape {shape} ({expected} bytes of data), "
            f"found {len(data)} bytes"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write(path: str | os.PathLike, array: np.ndarray) -> None:
    """Writes `array` as an IDX file; gzipped when the name ends in `.gz`."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">")
    if big_endian not in _CODES:
        raise ValueError(f"IDX has no code for dtype {array.dtype}")
    header = bytes([0, 0, _CODES[big_endian], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(big_endian).tobytes())


def candidates(split: str, kind: str) -> list[str]:
    """File names accepted for `kind` ("images" / "labels") of `split` ("train" / "test")."""
    prefix, idx = SPLIT_PREFIXES[split], _KINDS[kind]
    names = [f"{prefix}-{kind}-{idx}-ubyte", f"{prefix}-{kind}.{idx}-ubyte"]
    return [n + ext for n in names for ext in (".gz", "")]


def find_files(directory: str | os.PathLike) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """Locates the four IDX files in `directory`.

    Returns ({(split, kind): path} for the files found, [canonical names of the
    missing ones]).
    """
    directory = Path(directory)
    found, missing = {}, []
    for split in SPLIT_PREFIXES:
        for kind in _KINDS:
            names = candidates(split, kind)
            path = next((directory / n for n in names if (directory / n).is_file()), None)
            if path is None:
                missing.append(names[0])
            else:
                found[split, kind] = path
    return found, missing


def read_split(
    images_path: Path, labels_path: Path, *, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reads and cross-checks one split: (uint8 images [N, H, W], int64 labels [N])."""
    images, labels = read(images_path), read(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataFormatError(
            f"{images_path}: expected uint8 images of shape [N, H, W], "
            f"found {images.dtype} {images.shape}"
        )
    if labels.ndim != 1:
        raise DataFormatError(f"{labels_path}: expected labels of shape [N], found {labels.shape}")
    if len(images) != len(labels):
        raise DataFormatError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if len(labels) and not 0 <= labels.min() <= labels.max() < num_classes:
        raise DataFormatError(
            f"{labels_path}: labels must lie in 0..{num_classes - 1}, "
            f"found {labels.min()}..{labels.max()}"
        )
    return images, labels.astype(np.int64)
