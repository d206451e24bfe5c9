"""Training throughput of the AAE: the real tfds input pipeline vs in-memory tensors, and the
achieved FLOP rate as a fraction of a large matmul timed in the same run.

    python -m benchmarks.aae_throughput --preset=aae/fashion_mnist_clustering --steps=300

FLOPs per training step are counted by TensorFlow's profiler on the traced train_step graph (every
phase, forward and backward); the peak is a 2048x2048 fp32 matmul timed here. Timed segments
alternate between the two feeds so that drift of the machine hits both.
"""
from __future__ import annotations

import tensorflow as tf
from absl import app, flags

from benchmarks.common import images_per_second, matmul_gflops, train_step_flops
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "aae/fashion_mnist_clustering", "preset to time")
flags.DEFINE_integer("steps", 300, "steps per timed segment")
flags.DEFINE_integer("rounds", 2, "timed segments per feed")
flags.DEFINE_multi_string("set", [], "config overrides")


@cli.report_errors
def main(argv):
    from zoo import registry, training

    config = registry.resolve(preset_name=FLAGS.preset, overrides=FLAGS.set)
    _, model = training.build(config)
    pipeline = training.train_dataset(config)
    batch = next(iter(pipeline))
    in_memory = tf.data.Dataset.from_tensors(batch).repeat()
    flops = train_step_flops(model, batch)
    for feed in (pipeline, in_memory):  # warm up: trace, compile, fill the cache
        images_per_second(model, feed, 50, config.batch_size)
    rates = {"tfds pipeline": [], "in-memory tensors": []}
    for _ in range(FLAGS.rounds):
        rates["tfds pipeline"].append(images_per_second(model, pipeline, FLAGS.steps, config.batch_size))
        rates["in-memory tensors"].append(images_per_second(model, in_memory, FLAGS.steps, config.batch_size))
    peak = matmul_gflops()
    pipeline_rate, memory_rate = (max(v) for v in rates.values())
    achieved = flops * memory_rate / config.batch_size / 1e9
    print(f"preset {FLAGS.preset}, dataset {config.dataset}, batch {config.batch_size}, "
          f"jit_compile={config.jit_compile}, {FLAGS.rounds} x {FLAGS.steps} steps per feed")
    for name, values in rates.items():
        print(f"  {name:18s} {max(values):8.1f} images/s  (segments: {', '.join(f'{v:.1f}' for v in values)})")
    print(f"  pipeline / in-memory throughput: {pipeline_rate / memory_rate:.3f} "
          f"(pipeline cost {max(0.0, 1 - pipeline_rate / memory_rate) * 100:.1f}%)")
    print(f"  train step: {flops / 1e9:.2f} GFLOP per batch (profiler count)")
    print(f"  achieved {achieved:.1f} GFLOP/s vs 2048^2 fp32 matmul {peak:.1f} GFLOP/s: {achieved / peak:.3f} of peak")


if __name__ == "__main__":
    app.run(main)
