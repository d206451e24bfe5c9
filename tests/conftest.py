"""Test session setup: two logical CPU devices (so MirroredStrategy runs its multi-replica path)
and a private tfds data directory. Both must happen before TensorFlow initializes."""
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TFDS_DATA_DIR"] = tempfile.mkdtemp(prefix="zoo_tfds_")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


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
