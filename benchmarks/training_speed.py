"""Training speed in float32 and in bfloat16 (`precision=mixed_bfloat16`), each family's main preset,
all measured in one run:

    python -m benchmarks.training_speed                       # every family's main preset
    python -m benchmarks.training_speed --presets=aae/fashion_mnist_clustering --steps=100

Per preset and precision: images/s of the train step on an in-memory batch (the input pipeline is
benchmarks.aae_throughput's subject), compiled by XLA (`jit_compile=true`) and by TensorFlow's graph
executor alone (oneDNN kernels, `jit_compile=false`), and the faster one's rate as a fraction of a
2048x2048 matmul of the same precision timed in the same run (FLOPs per step by TensorFlow's
profiler on the float32 graph). Every timed segment runs in a process of its own (a fresh TensorFlow
runtime: with several models in one process the later ones' rates swung up to 2x with the earlier
ones' allocations and oneDNN caches), and the segments alternate between the variants so that drift
of the machine hits all of them. A family whose config does not offer bfloat16 gets float32 columns
only.
"""
from __future__ import annotations

import json
import subprocess
import sys

import tensorflow as tf
from absl import app, flags

from benchmarks.common import images_per_second, matmul_gflops, train_step_flops
from zoo import cli

MAIN_PRESETS = ("aae/fashion_mnist_clustering", "pixelgan/fashion_mnist_clustering", "iae/fashion_mnist_clustering",
                "fiae/fashion_mnist_clustering", "infogan/fashion_mnist_clustering", "cycleiae/fashion_edges2shoes",
                "cyclegan/fashion_edges2shoes", "lpaae/fashion_mnist", "vae/fashion_mnist", "vampprior/fashion_mnist")
PRECISIONS = ("float32", "mixed_bfloat16")
COMPILERS = {"xla": "jit_compile=true", "graph": "jit_compile=false"}

FLAGS = flags.FLAGS
flags.DEFINE_list("presets", list(MAIN_PRESETS), "presets to time")
flags.DEFINE_integer("steps", 50, "steps per timed segment")
flags.DEFINE_integer("rounds", 2, "timed segments per precision")
flags.DEFINE_integer("warmup", 10, "untimed steps per variant first (tracing, oneDNN's kernel choices, allocations)")
flags.DEFINE_multi_string("set", [], "config overrides for every preset (e.g. dataset=digits)")
flags.DEFINE_string("segment", None, "internal: time one 'preset,precision,compiler' segment in this process and "
                    "print it as JSON")


def _variants(name):
    """The (precision, compiler) pairs to time for a preset: the precisions its family offers."""
    from zoo import registry

    offered = registry.family(name.split("/")[0]).config_cls.PRECISIONS
    return [(p, c) for p in PRECISIONS if p in offered for c in COMPILERS]


def _time_segment(name, precision, compiler):
    """Builds the preset at this precision and compiler, warms it up, times FLAGS.steps steps on an
    in-memory batch; the float32 graph segment also counts the step's FLOPs."""
    from zoo import registry, training

    config = registry.resolve(preset_name=name, overrides=[*FLAGS.set, f"precision={precision}",
                                                           COMPILERS[compiler]])
    _, model = training.build(config)
    batch = next(iter(training.train_dataset(config)))
    flops = train_step_flops(model, batch) if (precision, compiler) == ("float32", "graph") else None
    feed = tf.data.Dataset.from_tensors(batch).repeat()
    images_per_second(model, feed, FLAGS.warmup, config.batch_size)  # trace, compile, choose kernels
    rate = images_per_second(model, feed, FLAGS.steps, config.batch_size)
    return {"rate": rate, "flops": flops, "batch_size": config.batch_size}


def _segment_in_new_process(name, precision, compiler):
    command = [sys.executable, "-m", "benchmarks.training_speed", f"--segment={name},{precision},{compiler}",
               f"--steps={FLAGS.steps}", f"--warmup={FLAGS.warmup}", *(f"--set={s}" for s in FLAGS.set)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"timing {name} in {precision} ({compiler}) failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@cli.report_errors
def main(argv):
    if FLAGS.segment:
        print(json.dumps(_time_segment(*FLAGS.segment.split(","))))
        return
    peaks = {"float32": matmul_gflops(), "mixed_bfloat16": matmul_gflops(dtype=tf.bfloat16)}
    print(f"2048^2 matmul: float32 {peaks['float32']:.1f} GFLOP/s, bfloat16 {peaks['mixed_bfloat16']:.1f} GFLOP/s "
          f"({peaks['mixed_bfloat16'] / peaks['float32']:.2f}x); {FLAGS.rounds} x {FLAGS.steps} steps per precision\n")
    print("| preset | batch | float32 images/s: XLA / graph | bfloat16 images/s: XLA / graph "
          "| best bfloat16 / best float32 | float32 fraction of its matmul | bfloat16 fraction of its matmul |")
    print("|---|---|---|---|---|---|---|")
    for name in FLAGS.presets:
        rates, flops, batch_size = {key: [] for key in _variants(name)}, None, None
        for _ in range(FLAGS.rounds):
            for key in rates:
                segment = _segment_in_new_process(name, *key)
                rates[key].append(segment["rate"])
                flops = segment["flops"] or flops
                batch_size = segment["batch_size"]
        cells, best = [], {}
        for precision in PRECISIONS:
            per_compiler = {c: max(rates[precision, c]) for c in COMPILERS if (precision, c) in rates}
            if not per_compiler:
                cells.append("-")
                continue
            best[precision] = max(per_compiler.values())
            cells.append(" / ".join(f"**{r:.0f}**" if r == best[precision] else f"{r:.0f}"
                                    for r in per_compiler.values()))
        fraction = {p: flops * best[p] / batch_size / 1e9 / peaks[p] for p in best}
        bf16 = "mixed_bfloat16" in best
        ratio = f"{best['mixed_bfloat16'] / best['float32']:.2f}x" if bf16 else "-"
        bf16_fraction = f"{fraction['mixed_bfloat16']:.3f}" if bf16 else "-"
        print(f"| {name} | {batch_size} | {cells[0]} | {cells[1]} | {ratio} | {fraction['float32']:.3f} "
              f"| {bf16_fraction} |", flush=True)


if __name__ == "__main__":
    app.run(main)
