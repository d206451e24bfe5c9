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
