"""Training throughput of the AAE: the real tfds input pipeline vs in-memory tensors, and the
achieved FLOP rate as a fraction of a large matmul timed in the same run.

    python -m benchmarks.aae_throughput --preset=aae/fashion_mnist_clustering --steps=300

FLOPs per training step are counted by TensorFlow's profiler on the traced train_step graph (every
phase, forward and backward); the peak is a 2048x2048 fp32 matmul timed here. Timed segments
alternate between the two feeds so that drift of the machine hits both.
"""
from __future__ import annotations

import time

import tensorflow as tf
from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "aae/fashion_mnist_clustering", "preset to time")
flags.DEFINE_integer("steps", 300, "steps per timed segment")
flags.DEFINE_integer("rounds", 2, "timed segments per feed")
flags.DEFINE_multi_string("set", [], "config overrides")


def matmul_gflops(n: int = 2048, repeats: int = 20) -> float:
    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        result = matmul(a, b)
    result.numpy()
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def train_step_flops(model, batch) -> float:
    from tensorflow.python.profiler import model_analyzer, option_builder

    specs = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), batch)
    graph = tf.function(model.train_step).get_concrete_function(specs).graph
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation()) \
        .with_empty_output().build()
    return float(model_analyzer.profile(graph, options=options).total_float_ops)


def images_per_second(model, dataset, steps: int, batch_size: int) -> float:
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size / (time.perf_counter() - start)


@cli.report_errors
def main(argv):
    from zoo import registry, training

    config = registry.resolve(preset_name=FLAGS.preset, overrides=FLAGS.set)
    _, model = training.build(config)
    pipeline = training.train_dataset(config, shuffle_seed=0)
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
