"""Our own TFDS builders, and preparing any builder (ours or the catalog's).

* `zoo_digits`: scikit-learn's bundled 8x8 digits, so that the zoo runs on a
  fresh machine with no data downloaded.
* `zoo_idx_images/{fashion_mnist,mnist}`: MNIST-style IDX files read from a
  local directory (TFDS "manual_dir"), e.g. Debian's `dataset-fashion-mnist`
  package, whose re-compressed files fail the catalog builder's checksums.

`prepare` runs cheap pre-flight checks (source files present, network
reachable) so that missing data fails in a second with one readable paragraph
instead of after minutes of download retries.

Prepared records are tied to their sources: each of our builders names the files it reads
(`source_files`, which also checks that they are there), and `prepare` stores their fingerprint
(name, size and SHA-256 of each file) beside the records. A dataset whose sources changed or differ
(another `source_dir` with other files, a truncated file) is prepared again, never served from the
records of other files.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib.resources
import importlib.resources.abc  # noqa: F401  (loads .abc, used through the stand-in below)
import io
import json
import shutil
import socket
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from zoo.data import idx
from zoo.data.idx import DataFormatError, DataNotFoundError

# TFDS 4.9.10 imports the `importlib_resources` backport (lazily) to locate any
# builder's code, but declares it only for Python < 3.9; the standard library
# module has the same API on 3.11, so stand it in when the backport is absent.
try:
    import importlib_resources  # noqa: F401
except ImportError:
    sys.modules["importlib_resources"] = importlib.resources

DIGITS_TEST_SIZE = 300
CONNECT_TIMEOUT_S = 2.0


def _features(image_shape: tuple[int, int, int], label: tfds.features.ClassLabel):
    """uint8 images stored as raw bytes, plus a class label.

    The images are tiny and fixed-size: PNG would save little disk but makes
    preparing Fashion-MNIST about 4x slower (per-example encoding).
    """
    image = tfds.features.Tensor(
        shape=image_shape, dtype=np.uint8, encoding=tfds.features.Encoding.BYTES
    )
    return tfds.features.FeaturesDict({"image": image, "label": label})


class _ArrayBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A builder whose splits are in-memory (images, labels) arrays."""

    def source_files(self, source_dir) -> list[Path]:
        """The files the records are made from (DataNotFoundError if any is missing): their
        fingerprint is stored with the records. None for data that ships with a package."""
        return []

    def _generate_examples(self, images: np.ndarray, labels: np.ndarray):
        """Yields (key, example) pairs; images are uint8 [N, H, W, C]."""
        for i in range(len(labels)):
            yield i, {"image": images[i], "label": labels[i]}


class ZooDigits(_ArrayBuilder):
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes) as uint8 images."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="UCI optical handwritten digits as bundled with scikit-learn, "
            "rescaled from 0..16 to 0..255. Fixed split: last 300 of a seeded permutation are test.",
            features=_features((8, 8, 1), tfds.features.ClassLabel(num_classes=10)),
            supervised_keys=("image", "label"),
            # Keep the seeded permutation as the on-disk order, so "train[-200:]" is fixed.
            disable_shuffling=True,
            homepage="https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset",
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(images[..., None], labels)
                for split, (images, labels) in digits_splits().items()}


def digits_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (uint8 images [N, 8, 8], int64 labels) of scikit-learn's digits: the last 300 of a
    seeded permutation are "test"."""
    from sklearn.datasets import load_digits  # heavy import, only needed once

    digits = load_digits()
    images = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))
    train, test = order[:-DIGITS_TEST_SIZE], order[-DIGITS_TEST_SIZE:]
    return {"train": (images[train], labels[train]), "test": (images[test], labels[test])}


@dataclasses.dataclass(eq=False)
class IdxConfig(tfds.core.BuilderConfig):
    """One MNIST-style dataset stored as four IDX files, and where to get them."""

    title: str = ""
    homepage: str = ""
    class_names: tuple[str, ...] = ()
    debian_package: str | None = None
    default_source_dir: str | None = None


IDX_CONFIGS = {
    c.name: c
    for c in (
        IdxConfig(
            name="fashion_mnist",
            description="Zalando's article images, 28x28 grayscale, 10 classes.",
            title="Fashion-MNIST",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
            debian_package="dataset-fashion-mnist",
            default_source_dir="/usr/share/datasets/fashion-mnist",
        ),
        IdxConfig(
            name="mnist",
            description="Handwritten digits, 28x28 grayscale, 10 classes.",
            title="MNIST",
            homepage="http://yann.lecun.com/exdb/mnist/",
            class_names=tuple(str(d) for d in range(10)),
        ),
    )
}


def _file_list() -> str:
    names = [idx.candidates(split, kind)[0] for split in idx.SPLIT_PREFIXES for kind in ("images", "labels")]
    return ", ".join(names)


def idx_missing_message(config: IdxConfig, directory: str | Path, missing: list[str]) -> str:
    """One paragraph: what is missing where, and how to get it or point elsewhere."""
    where = (
        f"directory {directory} does not exist"
        if not Path(directory).is_dir()
        else f"{', '.join(missing)} missing from {directory}"
    )
    debian = (
        f" Debian's package {config.debian_package} provides them in {config.default_source_dir} "
        f"(`apt-get install {config.debian_package}`)."
        if config.debian_package
        else ""
    )
    return (
        f"{config.title} IDX files not found: {where}. Four files are needed ({_file_list()}; "
        f"gzipped or not, `train-images.idx3-ubyte` spelling also accepted).{debian}"
        f"{' Or download' if debian else ' Download'} them from {config.homepage} into {directory}, "
        "or point to another directory with `--set source_dir=DIR`."
    )


def locate_idx_files(config: IdxConfig, directory: str | Path | None) -> dict[tuple[str, str], Path]:
    """The four IDX files of `config` in `directory`, or DataNotFoundError saying what is missing."""
    if directory is None:
        raise DataNotFoundError(
            f"{config.title} needs a directory holding its IDX files: pass `--set source_dir=DIR` "
            f"(files: {_file_list()}; download page: {config.homepage})."
        )
    found, missing = idx.find_files(directory)
    if missing:
        raise DataNotFoundError(idx_missing_message(config, directory, missing))
    return found


class ZooIdxImages(_ArrayBuilder):
    """MNIST-style datasets read from local IDX files (passed as the TFDS manual_dir)."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = list(IDX_CONFIGS.values())
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the four IDX files (" + _file_list() + ", gzipped or not) in a directory and pass it as "
        "`tfds.download.DownloadConfig(manual_dir=DIR)`; Fashion-MNIST: Debian's package "
        "dataset-fashion-mnist or https://github.com/zalandoresearch/fashion-mnist; "
        "MNIST: http://yann.lecun.com/exdb/mnist/."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=config.description,
            features=_features((28, 28, 1), tfds.features.ClassLabel(names=list(config.class_names))),
            supervised_keys=("image", "label"),
            # Keep the files' order, so the validation tail "train[-5000:]" is the usual one.
            disable_shuffling=True,
            homepage=config.homepage,
        )

    def source_files(self, source_dir) -> list[Path]:
        return list(locate_idx_files(self.builder_config, source_dir).values())

    def _split_generators(self, dl_manager):
        return {
            split: self._generate_examples(images[..., None], labels)
            for split, (images, labels) in read_idx_splits(self.builder_config, dl_manager.manual_dir).items()
        }


def read_idx_splits(config: IdxConfig, directory) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (uint8 images [N, 28, 28], labels) of an IDX dataset, both splits read and checked
    before any record is written."""
    files = locate_idx_files(config, directory)
    splits = {
        split: idx.read_split(files[split, "images"], files[split, "labels"], num_classes=len(config.class_names))
        for split in idx.SPLIT_PREFIXES
    }
    for split, (images, _) in splits.items():
        if images.shape[1:] != (28, 28):
            raise DataFormatError(f"{files[split, 'images']}: expected 28x28 images, found {images.shape[1:]}")
    return splits




def data_root(builder: tfds.core.DatasetBuilder) -> Path:
    """The data_dir a builder was created with (its data_dir minus name[/config]/version)."""
    return Path(builder.data_dir).parents[len(builder.info.full_name.split("/")) - 1]


def _download_is_mocked() -> bool:
    """True under `tfds.testing.mock_data`, which replaces download_and_prepare.

    No data is read then, so the pre-flight checks (source files, network)
    would only get in the way of tests.
    """
    fn = tfds.core.DatasetBuilder.download_and_prepare
    return getattr(fn, "__qualname__", "") != "DatasetBuilder.download_and_prepare"


def _unreachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why `url`'s host (or the proxy for it) cannot be reached, or None if it can.

    The connect runs in a daemon thread so a hanging DNS lookup is bounded too.
    """
    parsed = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(parsed.hostname or ""):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    errors: list[str] = []

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as e:
            errors.append(str(e) or type(e).__name__)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    if thread.is_alive():
        return f"no answer from {host}:{port} within {timeout:g} s"
    return f"cannot connect to {host}:{port} ({errors[0]})" if errors else None


def catalog_missing_message(builder: tfds.core.DatasetBuilder, reason: str, hint: str = "") -> str:
    """One paragraph: the catalog dataset is not prepared here and how to bring it."""
    name, root = builder.name, data_root(builder)
    return (
        f"Dataset '{name}' is not prepared in data_dir {root} (looked for {builder.data_dir}) "
        f"and cannot be downloaded on this machine: {reason}. On a machine with internet run "
        f"`python -c \"import tensorflow_datasets as tfds; tfds.builder('{name}').download_and_prepare()\"`, "
        f"then copy ~/tensorflow_datasets/{name} into {root} (or pass `--set data_dir=DIR` "
        f"for a directory that holds {name}/).{' ' + hint if hint else ''}"
    )


FINGERPRINT_FILE = "zoo_sources.json"
_FULL_HASH_BYTES = 256 << 20  # larger files (the 2 GB edges2shoes archive): size, head and tail
_PART_HASH_BYTES = 16 << 20
_HASHES: dict[tuple, str] = {}


def _file_hash(path: Path) -> str:
    """SHA-256 of a file (of its size, first and last 16 MiB past 256 MiB), cached per process on
    (path, size, mtime, inode) so that the many `spec` / `load` calls of a run hash each file once."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            if stat.st_size <= _FULL_HASH_BYTES:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            else:
                digest.update(str(stat.st_size).encode())
                digest.update(f.read(_PART_HASH_BYTES))
                f.seek(-_PART_HASH_BYTES, 2)
                digest.update(f.read(_PART_HASH_BYTES))
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def source_fingerprint(files: list[Path]) -> list[dict]:
    """What identifies a builder's sources: each file's name, size and content hash. The directory
    is recorded for messages; the same files copied elsewhere are the same sources."""
    return [{"name": p.name, "size": p.stat().st_size, "sha256": _file_hash(p), "directory": str(p.parent.resolve())}
            for p in sorted(map(Path, files), key=lambda p: p.name)]


def _same_sources(recorded: list[dict] | None, current: list[dict]) -> bool:
    def content(entries):
        return [(e["name"], e["size"], e["sha256"]) for e in entries]
    return recorded is not None and content(recorded) == content(current)


def _recorded_fingerprint(builder) -> list[dict] | None:
    path = Path(builder.data_dir) / FINGERPRINT_FILE
    try:
        return json.loads(path.read_text())["sources"]
    except (OSError, ValueError, KeyError):
        return None  # prepared before fingerprints, or interrupted before it was written


def prepare(
    builder: tfds.core.DatasetBuilder, *, source_dir: str | Path | None = None, hint: str = ""
) -> tfds.core.DatasetBuilder:
    """Prepares `builder` in its data_dir once; later calls reuse the prepared files while the
    sources they came from are unchanged (our builders), and prepare them again when not. Returns
    the builder to read from.

    Raises DataNotFoundError (one paragraph, no chained traceback; `hint` ends
    it for catalog datasets) when the data is neither prepared nor obtainable,
    DataFormatError for corrupt source files.

    Processes that prepare the same dataset at once (two runs started side by side) take turns on a
    lock file beside the records: the first prepares, the others then read what it wrote.
    """
    root = data_root(builder)
    root.mkdir(parents=True, exist_ok=True)
    name = builder.info.full_name.rsplit("/", 1)[0]
    with open(root / f".{name.replace('/', '_')}.lock", "w") as lock:
        was_prepared = builder.is_prepared()
        fcntl.flock(lock, fcntl.LOCK_EX)
        if builder.is_prepared() and not was_prepared:  # another process prepared it while this one waited
            builder = tfds.builder(name, data_dir=str(root))
        return _prepare(builder, source_dir, hint)


def _prepare(builder: tfds.core.DatasetBuilder, source_dir, hint: str) -> tfds.core.DatasetBuilder:
    own = hasattr(builder, "source_files")
    mocked = _download_is_mocked()
    files = builder.source_files(source_dir) if own and not mocked else []
    fingerprint = source_fingerprint(files) if files else None
    if builder.is_prepared():
        recorded = _recorded_fingerprint(builder) if fingerprint is not None else None
        if fingerprint is None or _same_sources(recorded, fingerprint):
            return builder
        where = f" (prepared from {recorded[0]['directory']})" if recorded else ""
        print(f"{builder.info.full_name}: the records in {builder.data_dir}{where} were not made from the files "
              f"in {fingerprint[0]['directory']}; preparing it again from them", file=sys.stderr)
        shutil.rmtree(builder.data_dir)
        builder = tfds.builder(builder.info.full_name.rsplit("/", 1)[0], data_dir=str(data_root(builder)))
    if not own and not mocked and builder.url_infos:
        reason = _unreachable(next(iter(builder.url_infos)))
        if reason:
            raise DataNotFoundError(catalog_missing_message(builder, f"no network, {reason}", hint))
    config = tfds.download.DownloadConfig(manual_dir=str(source_dir)) if source_dir else None
    print(f"preparing {builder.info.full_name} in {data_root(builder)} (once: later runs reuse it)", file=sys.stderr)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # tfds's own "Downloading and preparing ..." lines
            builder.download_and_prepare(download_config=config)
    except (OSError, tfds.download.DownloadError) as e:
        if own:
            raise
        cause = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        raise DataNotFoundError(
            catalog_missing_message(builder, f"download failed ({cause})", hint)
        ) from None
    if fingerprint is not None:
        (Path(builder.data_dir) / FINGERPRINT_FILE).write_text(json.dumps({"sources": fingerprint}, indent=1))
    return builder
