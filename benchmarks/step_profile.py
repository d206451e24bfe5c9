"""Where a train step's time goes: TensorFlow's profiler over a few steps of a preset, summed by op
type (self time, both threads; "IDLE" is a thread waiting).

    python -m benchmarks.step_profile --preset=pixelgan/mnist_clustering --set=source_dir=../shared/data/mnist
    python -m benchmarks.step_profile --preset=iae/mnist_clustering --set=precision=mixed_bfloat16 --top=15

The step runs on an in-memory batch, as in benchmarks.training_speed, by the graph executor
(`jit_compile=false`: under XLA the profile shows one fused cluster, not the ops).
"""
from __future__ import annotations

import collections
import glob
import json
import tempfile

import tensorflow as tf
from absl import app, flags

from benchmarks.common import images_per_second
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "pixelgan/mnist_clustering", "preset to profile")
flags.DEFINE_multi_string("set", [], "config overrides (e.g. precision=mixed_bfloat16)")
flags.DEFINE_integer("steps", 10, "profiled steps")
flags.DEFINE_integer("top", 20, "op types to print")
flags.DEFINE_enum("adam", "fused", ["fused", "keras"], "the zoo's fused Adam or keras.optimizers.Adam (for comparison)")


def op_type_times(xplane: str) -> collections.Counter:
    """op type -> total self time (microseconds) from a profiler xplane file."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    data, _ = plugin.xspace_to_tools_data([xplane], "framework_op_stats", {})
    table = json.loads(data)[0]
    columns = [column["id"] for column in table["cols"]]
    times = collections.Counter()
    for row in table["rows"]:
        cells = dict(zip(columns, [cell.get("v") if cell else None for cell in row["c"]]))
        times[cells["type"]] += cells["total_self_time"] or 0
    return times


@cli.report_errors
def main(argv):
    import keras

    from zoo import optimizers, registry, training

    if FLAGS.adam == "keras":
        optimizers.Adam = keras.optimizers.Adam  # every family makes its Adam through this name
    config = registry.resolve(preset_name=FLAGS.preset, overrides=[*FLAGS.set, "jit_compile=false"])
    _, model = training.build(config)
    feed = tf.data.Dataset.from_tensors(next(iter(training.train_dataset(config)))).repeat()
    images_per_second(model, feed, 10, config.batch_size)  # trace, oneDNN's kernel choices, allocations
    logdir = tempfile.mkdtemp()
    tf.profiler.experimental.start(logdir)
    rate = images_per_second(model, feed, FLAGS.steps, config.batch_size)
    tf.profiler.experimental.stop()
    times = op_type_times(sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1])
    total = sum(times.values())
    print(f"{FLAGS.preset} ({config.precision}, batch {config.batch_size}, {FLAGS.adam} Adam): {rate:.0f} images/s "
          f"while profiled; op self time {total / FLAGS.steps / 1000:.1f} ms per step over both threads\n")
    print("| op type | ms / step | share |")
    print("|---|---|---|")
    for op, micros in times.most_common(FLAGS.top):
        print(f"| {op} | {micros / FLAGS.steps / 1000:.1f} | {micros / total:.1%} |")


if __name__ == "__main__":
    app.run(main)
