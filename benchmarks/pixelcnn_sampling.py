"""PixelCNN sampling and training speed, measured in one run:

    python -m benchmarks.pixelcnn_sampling --preset=pixelgan/fashion_mnist_clustering

1. Time to draw `--samples` images with the naive sampler (the whole network re-run for every
   pixel) and the cached fast sampler (every layer computed at the new pixel only), conditioned on
   the same prior codes and seed, each traced with tf.function and timed on its second call (the
   first traces and compiles); the images the two draw are compared and the ratio is printed. The
   fast sampler is timed both with its loops compiled by XLA (the default where the preset's
   `jit_compile` is on) and as a plain graph (what an exported SavedModel runs); the naive one runs
   as a graph (XLA does not make it faster: its cost is the full-image convolutions).
2. Training images/s of the preset's full train step (every phase) and its FLOP rate (profiler
   count) as a fraction of a 2048^2 fp32 matmul timed in the same run.
"""
from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from benchmarks.common import images_per_second, matmul_gflops, train_step_flops
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "pixelgan/fashion_mnist_clustering", "pixelgan or pixelcnn preset")
flags.DEFINE_multi_string("set", [], "config overrides")
flags.DEFINE_integer("samples", 16, "images per draw")
flags.DEFINE_integer("steps", 50, "training steps per timed segment")
flags.DEFINE_integer("rounds", 2, "timed training segments")


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args).numpy()
    return time.perf_counter() - start, result


@cli.report_errors
def main(argv):
    from zoo import registry, training

    config = registry.resolve(preset_name=FLAGS.preset, overrides=FLAGS.set)
    _, model = training.build(config)
    network = model.decoder if hasattr(model, "decoder") else model.network
    seed = tf.constant([1, 2], tf.int32)
    code = model.prior_code(FLAGS.samples, tf.constant([3, 4], tf.int32)) if hasattr(model, "prior_code") else None
    seconds, images = {}, {}
    for name, method, jit in (("naive", "sample_naive", False), ("fast", "sample_fast", False),
                              ("fast_xla", "sample_fast", True)):
        network.jit_sampler = jit
        sampler = tf.function(getattr(network, method))
        sampler(FLAGS.samples, seed, code).numpy()  # trace (and compile)
        seconds[name], images[name] = timed(sampler, FLAGS.samples, seed, code)
    height, width, channels = model.spec.image_shape
    print(f"{FLAGS.preset} {' '.join(FLAGS.set)}: {FLAGS.samples} samples of {height}x{width}x{channels}, "
          f"{network.describe()}")
    print(f"  naive sampler           {seconds['naive']:8.2f} s")
    for name, label in (("fast", "fast sampler, graph"), ("fast_xla", "fast sampler, XLA")):
        same = sum(np.array_equal(a, b) for a, b in zip(images["naive"], images[name]))
        print(f"  {label:22s}  {seconds[name]:8.2f} s: {seconds['naive'] / seconds[name]:5.1f}x the naive speed; "
              f"identical images: {same} of {FLAGS.samples}")

    pipeline = training.train_dataset(config)
    batch = next(iter(pipeline))
    flops = train_step_flops(model, batch)
    images_per_second(model, pipeline, 10, config.batch_size)
    rate = max(images_per_second(model, pipeline, FLAGS.steps, config.batch_size) for _ in range(FLAGS.rounds))
    peak = matmul_gflops()
    achieved = flops * rate / config.batch_size / 1e9
    print(f"  training (jit_compile={config.jit_compile}): {rate:.1f} images/s "
          f"(batch {config.batch_size}, best of {FLAGS.rounds} x {FLAGS.steps} steps), "
          f"{flops / 1e9:.2f} GFLOP per step")
    print(f"  achieved {achieved:.1f} GFLOP/s vs 2048^2 fp32 matmul {peak:.1f} GFLOP/s: {achieved / peak:.3f} of peak")


if __name__ == "__main__":
    app.run(main)
