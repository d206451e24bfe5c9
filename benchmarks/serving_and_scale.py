"""Training steps/s under MirroredStrategy on N logical CPU devices vs one device, and the latency
of exported SavedModel endpoints, measured in one run:

    python -m benchmarks.serving_and_scale --preset=aae/fashion_mnist_clustering --steps=100

On a CPU-only machine the logical devices share the same cores, so the replica ratio measures the
cost of the multi-replica path (all-reduce, per-replica draws), not a speedup; on real GPUs the
same command shows the scaling. Timed segments alternate between the strategies so that drift of
the machine hits both. Endpoint latency: the SavedModel is exported from a short run and loaded
with `tf.saved_model.load`, each signature called `--calls` times after a warm-up; median and 90th
percentile in milliseconds.
"""
from __future__ import annotations

import os
import tempfile
import time

from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "aae/fashion_mnist_clustering", "preset to time")
flags.DEFINE_multi_string("set", [], "config overrides")
flags.DEFINE_integer("cpu_replicas", 2, "logical CPU devices for the mirrored strategy")
flags.DEFINE_integer("steps", 100, "training steps per timed segment")
flags.DEFINE_integer("rounds", 3, "timed segments per strategy")
flags.DEFINE_integer("calls", 50, "calls per endpoint and batch size")


def steps_per_second(model, dataset, steps: int) -> float:
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps / (time.perf_counter() - start)


def endpoint_latency(path: str, calls: int) -> dict:
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    encode, sample = loaded.signatures["encode"], loaded.signatures["sample"]
    shape = encode.structured_input_signature[1]["images"].shape[1:]
    seed = tf.constant([1, 2], tf.int32)
    results = {}
    for batch in (1, 64):
        requests = {
            "encode": lambda batch=batch: encode(images=tf.random.uniform([batch, *shape]), seed=seed),
            "sample": lambda batch=batch: sample(n=tf.constant(batch), seed=seed),
        }
        for name, request in requests.items():
            for _ in range(5):
                request()
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                request()
                times.append((time.perf_counter() - start) * 1e3)
            results[(name, batch)] = (float(np.median(times)), float(np.percentile(times, 90)))
    return results


@cli.report_errors
def main(argv):
    from zoo import configs, registry, training

    mirrored = training.make_strategy("mirrored", FLAGS.cpu_replicas)  # before TensorFlow picks its devices
    single = training.make_strategy("default")
    config = registry.resolve(preset_name=FLAGS.preset, overrides=FLAGS.set)
    dataset = training.train_dataset(config)
    # Logical CPU replicas run without XLA (see training.build): the ratio compares like with like,
    # and the XLA single-device rate is printed for context.
    plain = configs.replace(config, jit_compile=False)
    replicas = f"{mirrored.num_replicas_in_sync} replicas"
    runs = {"1 device": (single, plain), replicas: (mirrored, plain)}
    if config.jit_compile:
        runs["1 device, XLA"] = (single, config)
    models = {}
    for name, (strategy, run_config) in runs.items():
        _, models[name] = training.build(run_config, strategy)
        steps_per_second(models[name], dataset, 10)  # trace and compile
    rates = {name: [] for name in runs}
    for _ in range(FLAGS.rounds):
        for name in runs:
            rates[name].append(steps_per_second(models[name], dataset, FLAGS.steps))
    print(f"{config.model} ({FLAGS.preset}), global batch {config.batch_size}, {FLAGS.steps} steps x {FLAGS.rounds} "
          "alternating segments, best segment:")
    for name, values in rates.items():
        print(f"  {name:<14} {max(values):7.2f} steps/s  (segments: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"  {replicas} / 1 device (both without XLA): {max(rates[replicas]) / max(rates['1 device']):.3f}")

    from zoo.export import saved_model

    with tempfile.TemporaryDirectory() as workdir:
        short = configs.replace(config, steps=config.log_every, checkpoint_every=config.log_every,
                                image_every=config.log_every)
        training.run(short, os.path.join(workdir, "run"), verbose=0)
        path = saved_model.export(os.path.join(workdir, "run"), os.path.join(workdir, "exported"))
        latency = endpoint_latency(path, FLAGS.calls)
    print(f"exported endpoints (tf.saved_model.load, {FLAGS.calls} calls each after warm-up):")
    for (name, batch), (median, p90) in latency.items():
        print(f"  {name:<7} batch {batch:>2}: median {median:7.2f} ms   p90 {p90:7.2f} ms")


if __name__ == "__main__":
    app.run(main)
