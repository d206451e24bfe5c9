"""Tests of zoo.data: our builders, the IDX reader, pipelines and error messages."""
import gzip
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo.data as data
from zoo.data import builders, idx

# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    """A data_dir with zoo_digits prepared once for the whole module."""
    root = tmp_path_factory.mktemp("tfds")
    data.spec("digits", data_dir=root)
    return root


def write_idx_dir(directory: Path, *, n_train=40, n_test=20, seed=0, gz=True, dotted=False):
    """Writes a tiny MNIST-style IDX directory; returns the arrays written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        arrays[split] = (
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            np.arange(n, dtype=np.uint8) % 10,
        )
        for kind, array in zip(("images", "labels"), arrays[split]):
            name = idx.candidates(split, kind)[(2 if dotted else 0) + (0 if gz else 1)]
            idx.write(directory / name, array)
    return arrays


@pytest.fixture
def idx_dir(tmp_path):
    source = tmp_path / "source"
    return source, write_idx_dir(source)


def first_batches(ds, n=2):
    return [b["image"].numpy() for b in ds.take(n)]


# ---------------------------------------------------------------- digits


def test_digits_spec(digits_dir):
    s = data.spec("digits", data_dir=digits_dir)
    assert s.name == "digits"
    assert s.image_shape == (8, 8, 1)
    assert s.num_classes == 10
    assert s.num_examples == {"train": 1297, "validation": 200, "test": 300}
    assert s.normalization == {"scale": 1 / 255, "offset": 0.0}


def test_digits_batches(digits_dir):
    ds = data.load("digits", "validation", batch_size=64, data_dir=digits_dir)
    batches = list(ds)
    assert [b["image"].shape[0] for b in batches] == [64, 64, 64, 8]
    for b in batches:
        assert b["image"].shape[1:] == (8, 8, 1) and b["image"].dtype == tf.float32
        assert b["label"].dtype == tf.int32
        assert 0.0 <= tf.reduce_min(b["image"]) and tf.reduce_max(b["image"]) <= 1.0
    images = np.concatenate([b["image"] for b in batches])
    assert images.max() == 1.0  # 16 maps to 255
    labels = np.concatenate([b["label"] for b in batches])
    assert set(labels) <= set(range(10))

    dropped = list(data.load("digits", "validation", batch_size=64, drop_remainder=True, data_dir=digits_dir))
    assert len(dropped) == 3


def test_digits_without_labels(digits_dir):
    batch = next(iter(data.load("digits", "test", batch_size=16, with_labels=False, data_dir=digits_dir)))
    assert set(batch) == {"image"}
    assert batch["image"].shape == (16, 8, 8, 1)


def test_shuffle_is_seeded(digits_dir):
    def run(seed):
        return first_batches(data.load("digits", "train", batch_size=32, shuffle=True, seed=seed, data_dir=digits_dir))

    plain = first_batches(data.load("digits", "train", batch_size=32, data_dir=digits_dir))
    same_a, same_b, other = run(1), run(1), run(2)
    np.testing.assert_array_equal(same_a, same_b)
    assert not np.array_equal(same_a, other)
    assert not np.array_equal(same_a, plain)


def test_repeat_reshuffles_each_epoch(digits_dir):
    ds = data.load("digits", "validation", batch_size=200, shuffle=True, repeat=True, seed=3, data_dir=digits_dir)
    epochs = [b["label"].numpy() for b in ds.take(2)]
    assert not np.array_equal(*epochs)
    np.testing.assert_array_equal(np.sort(epochs[0]), np.sort(epochs[1]))


def test_input_context_shards_and_splits_batch(digits_dir):
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2)
    batches = list(data.load("digits", "test", batch_size=32, input_context=context, data_dir=digits_dir))
    assert batches[0]["image"].shape[0] == 16
    assert sum(b["image"].shape[0] for b in batches) == 150


def test_arrays_match_load(digits_dir):
    whole = data.arrays("digits", "test", data_dir=digits_dir)
    assert whole["image"].shape == (300, 8, 8, 1) and whole["image"].dtype == np.float32
    assert whole["label"].shape == (300,) and whole["label"].dtype == np.int32
    loaded = np.concatenate([b["image"] for b in data.load("digits", "test", batch_size=100, data_dir=digits_dir)])
    np.testing.assert_array_equal(whole["image"], loaded)
    assert data.arrays("digits", "test", limit=7, data_dir=digits_dir)["image"].shape == (7, 8, 8, 1)


def test_digits_match_sklearn(digits_dir):
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    test = data.arrays("digits", "test", data_dir=digits_dir)
    expected = np.round(digits.images[order[-300:]] * 255 / 16)
    np.testing.assert_array_equal(np.round(test["image"][..., 0] * 255), expected)
    np.testing.assert_array_equal(test["label"], digits.target[order[-300:]])


# ---------------------------------------------------------------- labeled subsets


def test_labeled_subset_balanced_and_seeded(digits_dir):
    subset = data.labeled_subset("digits", 50, seed=0, data_dir=digits_dir)
    assert subset["image"].shape == (50, 8, 8, 1)
    np.testing.assert_array_equal(np.bincount(subset["label"], minlength=10), [5] * 10)
    again = data.labeled_subset("digits", 50, seed=0, data_dir=digits_dir)
    np.testing.assert_array_equal(subset["image"], again["image"])
    other = data.labeled_subset("digits", 50, seed=1, data_dir=digits_dir)
    assert not np.array_equal(subset["image"], other["image"])


@pytest.mark.parametrize("num_labels", [0, -10, 15, 10 * 1000])
def test_labeled_subset_rejects_bad_counts(digits_dir, num_labels):
    with pytest.raises(ValueError, match="num_labels|class"):
        data.labeled_subset("digits", num_labels, seed=0, data_dir=digits_dir)


def test_class_subset_keeps_and_relabels(digits_dir):
    whole = data.arrays("digits", "test", data_dir=digits_dir)
    subset = data.arrays("digits", "test", classes=(7, 2), data_dir=digits_dir)
    kept = np.isin(whole["label"], [7, 2])
    np.testing.assert_array_equal(subset["image"], whole["image"][kept])
    np.testing.assert_array_equal(subset["label"], np.where(whole["label"][kept] == 7, 0, 1))
    s = data.spec("digits", classes=(7, 2), data_dir=digits_dir)
    assert s.num_classes == 2 and s.num_examples["test"] == kept.sum()
    batches = list(data.load("digits", "test", batch_size=32, classes=(7, 2), data_dir=digits_dir))
    np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]), subset["label"])
    labeled = data.labeled_subset("digits", 10, seed=0, classes=(7, 2), data_dir=digits_dir)
    np.testing.assert_array_equal(np.bincount(labeled["label"]), [5, 5])


@pytest.mark.parametrize("classes", [(3,), (1, 1), (0, 10), (-1, 2)])
def test_class_subset_rejects_bad_classes(digits_dir, classes):
    with pytest.raises(ValueError, match="classes must be"):
        data.spec("digits", classes=classes, data_dir=digits_dir)


# ---------------------------------------------------------------- names


def test_unknown_dataset_lists_known_names():
    with pytest.raises(ValueError) as err:
        data.spec("imagenet")
    for name in data.DATASETS:
        assert name in str(err.value)


def test_unknown_split_lists_known_splits(digits_dir):
    with pytest.raises(ValueError) as err:
        data.load("digits", "dev", batch_size=8, data_dir=digits_dir)
    for split in ("train", "validation", "test"):
        assert split in str(err.value)


def test_digits_edges_needs_no_download(tmp_path):
    s = data.spec("digits_edges", data_dir=tmp_path)
    assert s.image_shape == (8, 8, 1) and s.label_names == ("digit", "edges")
    validation = data.arrays("digits_edges", "validation", data_dir=tmp_path)
    digits, edges = (validation["image"][validation["label"] == label] for label in (0, 1))
    assert len(digits) and len(edges) and set(np.unique(edges)) <= {0.0, 1.0}
    assert len(np.unique(digits)) > 2


def test_dataset_names():
    assert data.DATASETS == (
        "digits", "fashion_mnist", "mnist", "svhn_cropped", "smallnorb", "cifar10", "celeb_a", "oxford_flowers102",
        "fashion_edges2shoes", "mnist_edges", "digits_edges", "edges2shoes",
    )


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", "<i4", "f4", "f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    if dtype == "u1":
        array = array.astype(np.uint8)
    path = tmp_path / f"a-idx3{suffix}"
    idx.write(path, array)
    np.testing.assert_array_equal(idx.read(path), array)
    file_dtype, shape = idx.read_header(path)
    assert shape == (2, 3, 5) and file_dtype == np.dtype(dtype).newbyteorder(">")


@pytest.mark.parametrize("gz,dotted", [(True, False), (False, False), (True, True), (False, True)])
def test_fashion_mnist_from_idx_dir(tmp_path, gz, dotted):
    source = tmp_path / "source"
    written = write_idx_dir(source, gz=gz, dotted=dotted)
    s = data.spec("fashion_mnist", source_dir=source, data_dir=tmp_path / "tfds")
    # Only 40 training examples: the validation tail shrinks to a fifth of them.
    assert s.num_examples == {"train": 32, "validation": 8, "test": 20}
    assert s.image_shape == (28, 28, 1) and s.num_classes == 10

    test = data.arrays("fashion_mnist", "test", source_dir=source, data_dir=tmp_path / "tfds")
    images, labels = written["test"]
    np.testing.assert_allclose(test["image"][..., 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(np.round(test["image"][..., 0] * 255), images)
    np.testing.assert_array_equal(test["label"], labels)

    batch = next(iter(data.load("fashion_mnist", "validation", batch_size=40, source_dir=source,
                                data_dir=tmp_path / "tfds")))
    np.testing.assert_array_equal(np.round(batch["image"].numpy()[..., 0] * 255), written["train"][0][-8:])


def test_mnist_with_source_dir_uses_idx_files(tmp_path, idx_dir):
    source, written = idx_dir
    data_dir = tmp_path / "tfds"
    batch = next(iter(data.load("mnist", "test", batch_size=20, source_dir=source, data_dir=data_dir)))
    np.testing.assert_array_equal(np.round(batch["image"].numpy()[..., 0] * 255), written["test"][0])
    assert (data_dir / "zoo_idx_images" / "mnist").is_dir()


def test_the_scoring_classifier_reads_mnist_from_a_source_dir(tmp_path, idx_dir, monkeypatch):
    """MNIST given as IDX files (`--set source_dir=DIR`) trains the classifier that IS / FID use."""
    from experiments import runs
    from zoo import classifier

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    source, _ = idx_dir
    where = runs.data_options([f"source_dir={source}", "steps=3", f"data_dir = {tmp_path / 'tfds'}", "seed=1"])
    assert where == {"source_dir": str(source), "data_dir": str(tmp_path / "tfds")}
    _, info = classifier.load_or_train("mnist", epochs=1, verbose=0, **where)
    assert info["dataset"] == "mnist" and 0.0 <= info["test_accuracy"] <= 1.0


def test_two_processes_preparing_one_dataset_take_turns(tmp_path, idx_dir):
    """Two runs started side by side on an unprepared dataset: one prepares, the other waits and
    reads what it wrote (without the lock, the second's rename of its records fails)."""
    source, written = idx_dir
    script = ("import sys, numpy as np, zoo.data as data; "
              "t = data.arrays('mnist', 'test', source_dir=sys.argv[1], data_dir=sys.argv[2]); "
              "print(int(np.sum(t['label'])))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(source), str(tmp_path / "tfds")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0, err[-2000:]
        assert int(out.split()[-1]) == int(written["test"][1].sum())
    assert sum("preparing zoo_idx_images/mnist" in err for _, err in outputs) == 1, [e[-800:] for _, e in outputs]


def _record_files(data_dir: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in data_dir.rglob("*.tfrecord*")}


def test_prepared_idx_dataset_is_reused_while_its_files_are_the_same(tmp_path, idx_dir):
    source, written = idx_dir
    data_dir = tmp_path / "tfds"
    data.spec("fashion_mnist", source_dir=source, data_dir=data_dir)
    records = _record_files(data_dir)
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)  # the same files elsewhere are the same source
    test = data.arrays("fashion_mnist", "test", source_dir=copy, data_dir=data_dir)
    np.testing.assert_array_equal(test["label"], written["test"][1])
    assert _record_files(data_dir) == records


def test_other_or_changed_source_files_prepare_the_dataset_again(tmp_path, idx_dir, capfd):
    source, _ = idx_dir
    data_dir = tmp_path / "tfds"
    data.spec("mnist", source_dir=source, data_dir=data_dir)
    other = tmp_path / "other"
    written = write_idx_dir(other, n_train=30, seed=1)
    s = data.spec("mnist", source_dir=other, data_dir=data_dir)
    assert s.num_examples["train"] + s.num_examples["validation"] == 30
    test = data.arrays("mnist", "test", source_dir=other, data_dir=data_dir)
    np.testing.assert_array_equal(np.round(test["image"][..., 0] * 255), written["test"][0])
    assert "were not made from the files in" in capfd.readouterr().err
    # A truncated file in place of one it was prepared from: the reader's error, not old records.
    images = other / idx.candidates("train", "images")[0]
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(data.DataFormatError, match=str(images)):
        data.spec("mnist", source_dir=other, data_dir=data_dir)


def test_prepared_dataset_without_its_source_files_is_refused(tmp_path, idx_dir):
    source, _ = idx_dir
    data.spec("fashion_mnist", source_dir=source, data_dir=tmp_path / "tfds")
    shutil.rmtree(source)  # the records can no longer be tied to their files
    with pytest.raises(data.DataNotFoundError, match="does not exist"):
        data.arrays("fashion_mnist", "test", source_dir=source, data_dir=tmp_path / "tfds")


def test_missing_source_dir(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(data.DataNotFoundError) as err:
        data.spec("fashion_mnist", source_dir=missing, data_dir=tmp_path / "tfds")
    message = str(err.value)
    assert str(missing) in message
    assert "dataset-fashion-mnist" in message
    assert "zalandoresearch/fashion-mnist" in message
    assert "--set source_dir=DIR" in message
    assert "\n" not in message


def test_missing_files_are_named(tmp_path, idx_dir):
    source, _ = idx_dir
    (source / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataNotFoundError, match="t10k-labels-idx1-ubyte.gz missing from") as err:
        data.spec("mnist", source_dir=source, data_dir=tmp_path / "tfds")
    assert "yann.lecun.com/exdb/mnist" in str(err.value)
    assert "dataset-fashion-mnist" not in str(err.value)


def _bad_magic(path: Path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[2] = 0x42
    path.write_bytes(gzip.compress(bytes(raw)))


def _truncated_data(path: Path):
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))


def _truncated_gzip(path: Path):
    path.write_bytes(path.read_bytes()[:-50])


def _not_gzip(path: Path):
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)


def _fewer_labels(path: Path):
    idx.write(path, np.zeros(39, np.uint8))


@pytest.mark.parametrize(
    "corrupt,target,message",
    [
        (_bad_magic, "train-images-idx3-ubyte.gz", "magic"),
        (_truncated_data, "train-images-idx3-ubyte.gz", "truncated"),
        (_truncated_gzip, "t10k-images-idx3-ubyte.gz", "cannot read"),
        (_not_gzip, "train-labels-idx1-ubyte.gz", "cannot read"),
        (_fewer_labels, "train-labels-idx1-ubyte.gz", "39 labels"),
    ],
)
def test_corrupt_idx_files(tmp_path, idx_dir, corrupt, target, message):
    source, _ = idx_dir
    corrupt(source / target)
    data_dir = tmp_path / "tfds"
    with pytest.raises(data.DataFormatError, match=message) as err:
        data.spec("fashion_mnist", source_dir=source, data_dir=data_dir)
    assert str(source / target) in str(err.value)
    assert not list(data_dir.rglob("*.tfrecord*"))  # validated before writing anything


def test_debian_fashion_mnist_files(fashion_mnist_dir):
    found, missing = idx.find_files(fashion_mnist_dir)
    assert not missing
    for split, n in (("train", 60000), ("test", 10000)):
        assert idx.read_header(found[split, "images"]) == (np.dtype(np.uint8), (n, 28, 28))
        labels = idx.read(found[split, "labels"])
        assert labels.shape == (n,)
        np.testing.assert_array_equal(np.unique(labels), np.arange(10))


# The label counts published with MNIST.
MNIST_LABEL_COUNTS = {"train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
                      "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)}


def test_mnist_from_the_real_idx_files(mnist_dir, tmp_path):
    options = dict(source_dir=mnist_dir, data_dir=tmp_path / "tfds")
    s = data.spec("mnist", **options)
    assert s.image_shape == (28, 28, 1) and s.num_classes == 10
    assert s.num_examples == {"train": 55000, "validation": 5000, "test": 10000}
    for split in ("test", "train"):
        labels = data.arrays("mnist", split, **options)["label"]
        if split == "train":
            labels = np.concatenate([labels, data.arrays("mnist", "validation", **options)["label"]])
        assert tuple(np.bincount(labels, minlength=10)) == MNIST_LABEL_COUNTS[split]


# ---------------------------------------------------------------- TFDS catalog


@pytest.mark.parametrize("name,shape", [("cifar10", (32, 32, 3)), ("svhn_cropped", (32, 32, 3))])
def test_catalog_under_mock_data(tmp_path, name, shape):
    with tfds.testing.mock_data(num_examples=12):
        s = data.spec(name, data_dir=tmp_path)
        assert s.image_shape == shape and s.num_classes == 10
        batch = next(iter(data.load(name, "train", batch_size=5, shuffle=True, data_dir=tmp_path)))
    assert batch["image"].shape == (5, *shape) and batch["image"].dtype == tf.float32
    assert 0.0 <= tf.reduce_min(batch["image"]) and tf.reduce_max(batch["image"]) <= 1.0
    assert batch["label"].dtype == tf.int32


def test_catalog_label_mapping_under_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        norb = data.spec("smallnorb", data_dir=tmp_path)
        celeb = data.arrays("celeb_a", "validation", image_size=16, data_dir=tmp_path)
        celeb_spec = data.spec("celeb_a", image_size=16, data_dir=tmp_path)
    assert norb.image_shape == (96, 96, 1) and norb.num_classes == 5
    assert celeb_spec.num_classes == 2 and celeb_spec.image_shape == (16, 16, 3)
    assert celeb["image"].shape == (6, 16, 16, 3) and set(celeb["label"]) <= {0, 1}


def test_variable_size_images_need_image_size(tmp_path):
    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(ValueError, match="image_size"):
            data.spec("oxford_flowers102", data_dir=tmp_path)
        flowers = data.arrays("oxford_flowers102", "test", image_size=24, data_dir=tmp_path)
    assert flowers["image"].shape == (4, 24, 24, 3)
    assert 0.0 <= flowers["image"].min() and flowers["image"].max() <= 1.0


def test_own_builders_under_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=9):
        # No source files are read under mock_data, so a missing source_dir is fine.
        fashion = next(iter(data.load("fashion_mnist", "train", batch_size=9, source_dir=tmp_path / "none")))
        digits = data.arrays("digits", "test", data_dir=tmp_path)
    assert fashion["image"].shape == (9, 28, 28, 1)
    assert digits["image"].shape == (9, 8, 8, 1)


@pytest.mark.parametrize("name", ["cifar10", "mnist"])
def test_offline_catalog_dataset_fails_fast(tmp_path, name):
    url = next(iter(tfds.builder_cls(name).url_infos))
    if builders._unreachable(url) is None:
        pytest.skip(f"network available: {name} would really be downloaded")
    start = time.monotonic()
    with pytest.raises(data.DataNotFoundError) as err:
        data.load(name, "train", batch_size=8, data_dir=tmp_path)
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert f"'{name}'" in message and str(tmp_path) in message
    assert f"tfds.builder('{name}').download_and_prepare()" in message
    assert "--set data_dir=DIR" in message and "no network" in message
    assert ("--set source_dir=DIR" in message) == (name == "mnist")
    # One paragraph, no chained traceback.
    assert "\n" not in message
    assert err.value.__cause__ is None
    assert err.value.__context__ is None or err.value.__suppress_context__


def test_failed_download_becomes_data_not_found(tmp_path, monkeypatch):
    import requests

    def refuse(self, *args, **kwargs):
        raise requests.exceptions.ConnectionError("Max retries exceeded\nwith a long traceback")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", refuse)
    with pytest.raises(data.DataNotFoundError,
                       match=r"download failed \(ConnectionError: Max retries exceeded\)") as err:
        data.spec("svhn_cropped", data_dir=tmp_path)
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
