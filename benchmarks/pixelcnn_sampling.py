"""PixelCNN sampling and training speed, measured in one run:

    python -m benchmarks.pixelcnn_sampling --preset=pixelgan/fashion_mnist_clustering

1. Time to draw `--samples` images with the naive sampler (the whole network re-run for every
   pixel) and the cached fast sampler (every layer computed at the new pixel only), conditioned on
   the same prior codes and seed, each traced with tf.function and timed on its second call (the
   first traces and compiles); the images the two draw are compared and the ratio is printed. The
   fast sampler is timed both with its loops compiled by XLA (the default where the preset's
   `jit_compile` is on) and as a plain graph (what an exported SavedModel runs); the naive one runs
   as a graph (XLA does not make it faster: its cost is the full-image convolutions). With
   --bfloat16 (default) both samplers run again in `precision=mixed_bfloat16`, graph only, and
   their images are compared with each other: bfloat16 rounds the two samplers' sums differently,
   so a draw near its threshold may flip and the rest of that image follow it (the cache's
   exactness at each precision is tested against the network's own logits).
2. Training images/s of the preset's full train step (every phase) and its FLOP rate (profiler
   count) as a fraction of a 2048^2 fp32 matmul timed in the same run.
"""
from __future__ import annotations

import dataclasses
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
flags.DEFINE_bool("bfloat16", True, "also time the naive and fast samplers computing in bfloat16 (mixed_bfloat16)")


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args).numpy()
    return time.perf_counter() - start, result


def sampler_seconds(config, samplers):
    """Builds `config`'s model and times each (name, method, jit) sampler on the same codes and seed;
    returns the model and {name: (seconds, images)}."""
    from zoo import training

    _, model = training.build(config)
    network = model.decoder if hasattr(model, "decoder") else model.network
    seed = tf.constant([1, 2], tf.int32)
    code = model.prior_code(FLAGS.samples, tf.constant([3, 4], tf.int32)) if hasattr(model, "prior_code") else None
    timings = {}
    for name, method, jit in samplers:
        network.jit_sampler = jit
        sampler = tf.function(getattr(network, method))
        sampler(FLAGS.samples, seed, code).numpy()  # trace (and compile)
        timings[name] = timed(sampler, FLAGS.samples, seed, code)
    return model, network, timings


def print_samplers(timings, rows, naive="naive"):
    for name, label in rows:
        seconds, images = timings[name]
        same = sum(np.array_equal(a, b) for a, b in zip(timings[naive][1], images))
        print(f"  {label:30s}  {seconds:8.2f} s: {timings[naive][0] / seconds:5.1f}x the naive speed; "
              f"identical images: {same} of {FLAGS.samples}")


@cli.report_errors
def main(argv):
    from zoo import registry, training

    config = registry.resolve(preset_name=FLAGS.preset, overrides=FLAGS.set)
    model, network, timings = sampler_seconds(config, (("naive", "sample_naive", False), ("fast", "sample_fast", False),
                                                       ("fast_xla", "sample_fast", True)))
    height, width, channels = model.spec.image_shape
    print(f"{FLAGS.preset} {' '.join(FLAGS.set)}: {FLAGS.samples} samples of {height}x{width}x{channels}, "
          f"{network.describe()}")
    print(f"  naive sampler                   {timings['naive'][0]:8.2f} s")
    print_samplers(timings, (("fast", "fast sampler, graph"), ("fast_xla", "fast sampler, XLA")))
    if FLAGS.bfloat16:  # the same samplers computing in bfloat16 (a network of the same config and seed)
        low = dataclasses.replace(config, precision="mixed_bfloat16")
        _, _, low_timings = sampler_seconds(low, (("naive", "sample_naive", False), ("fast", "sample_fast", False)))
        print(f"  naive sampler, bfloat16         {low_timings['naive'][0]:8.2f} s "
              f"({timings['naive'][0] / low_timings['naive'][0]:.2f}x float32's)")
        print_samplers(low_timings, (("fast", "fast sampler, bfloat16 graph"),))
        print(f"  fast sampler, bfloat16 / float32 graph: {timings['fast'][0] / low_timings['fast'][0]:.2f}x")

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
