"""Timing helpers the benchmarks share: a matmul peak, the profiler's FLOP count of a train step,
and training throughput."""
from __future__ import annotations

import time

import tensorflow as tf


def matmul_gflops(n: int = 2048, repeats: int = 20, dtype=tf.float32) -> float:
    a, b = tf.cast(tf.random.normal((n, n)), dtype), tf.cast(tf.random.normal((n, n)), dtype)
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
