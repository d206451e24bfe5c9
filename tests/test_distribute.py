"""Multi-device and multi-worker training: per-replica draws, and MultiWorkerMirroredStrategy with two
worker processes on this machine matching one device (MirroredStrategy's equivalence on two logical
CPUs is in test_models, for every tiny preset)."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from zoo import registry, training
from zoo.models.base import ZooModel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_replicas_draw_their_own_slice_of_one_global_draw(mirrored):
    def draw(n):
        return tf.random.stateless_normal([n, 3], seed=[1, 2])

    @tf.function
    def per_replica():
        return mirrored.run(lambda: ZooModel.replica_slice(draw, 4))

    slices = [t.numpy() for t in mirrored.experimental_local_results(per_replica())]
    assert len(slices) == 2 and not np.allclose(slices[0], slices[1])
    np.testing.assert_array_equal(np.concatenate(slices), draw(8).numpy())


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _metrics(workdir):
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_two_workers_match_one_device(tmp_path):
    config = registry.resolve(preset_name="aae/tiny", batch_size=4)
    training.run(config, str(tmp_path / "single"), verbose=0)
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "zoo.train", "--preset=aae/tiny", "--batch_size=4", "--strategy=multiworker",
             f"--workdir={tmp_path / 'workers'}"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
    # The chief writes the run; the other worker keeps its own copies under workers/.
    assert (tmp_path / "workers" / "workers" / "worker_1" / "checkpoints").is_dir()
    for single, distributed in zip(_metrics(tmp_path / "single"), _metrics(tmp_path / "workers"), strict=True):
        for key, value in single.items():
            assert distributed[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
    a = {v.path: v.numpy() for v in training.restore(str(tmp_path / "single"))[2].weights}
    b = {v.path: v.numpy() for v in training.restore(str(tmp_path / "workers"))[2].weights}
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-5, err_msg=key)
