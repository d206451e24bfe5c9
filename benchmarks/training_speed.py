"""Training speed in float32 and in bfloat16 (`precision=mixed_bfloat16`), each family's main preset,
all measured in one run:

    python -m benchmarks.training_speed                       # every family's main preset
    python -m benchmarks.training_speed --presets=aae/fashion_mnist_clustering --steps=100

Per preset and precision: images/s of the train step on an in-memory batch (the input pipeline is
benchmarks.aae_throughput's subject), compiled by XLA (`jit_compile=true`) and by TensorFlow's graph
executor alone (oneDNN kernels, `jit_compile=false`), and the faster one's rate as a fraction of a
2048x2048 matmul of the same precision timed in the same run (FLOPs per step by TensorFlow's
profiler on the float32 graph). Timed segments alternate between the variants so that drift of the
machine hits all of them. A family whose config does not offer bfloat16 gets float32 columns only.
"""
from __future__ import annotations

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


def _models(name):
    """(precision, compiler) -> (config, built model, an in-memory batch) for the precisions the
    family offers."""
    from zoo import registry, training

    built = {}
    for precision in PRECISIONS:
        if precision not in registry.family(name.split("/")[0]).config_cls.PRECISIONS:
            continue
        for compiler, setting in COMPILERS.items():
            config = registry.resolve(preset_name=name, overrides=[*FLAGS.set, f"precision={precision}", setting])
            _, model = training.build(config)
            batch = next(iter(training.train_dataset(config)))
            built[precision, compiler] = (config, model, batch)
    return built


@cli.report_errors
def main(argv):
    peaks = {"float32": matmul_gflops(), "mixed_bfloat16": matmul_gflops(dtype=tf.bfloat16)}
    print(f"2048^2 matmul: float32 {peaks['float32']:.1f} GFLOP/s, bfloat16 {peaks['mixed_bfloat16']:.1f} GFLOP/s "
          f"({peaks['mixed_bfloat16'] / peaks['float32']:.2f}x); {FLAGS.rounds} x {FLAGS.steps} steps per precision\n")
    print("| preset | batch | float32 images/s: XLA / graph | bfloat16 images/s: XLA / graph "
          "| best bfloat16 / best float32 | float32 fraction of its matmul | bfloat16 fraction of its matmul |")
    print("|---|---|---|---|---|---|---|")
    for name in FLAGS.presets:
        built = _models(name)
        config, model, batch = built["float32", "graph"]
        flops = train_step_flops(model, batch)
        feeds = {key: tf.data.Dataset.from_tensors(b).repeat() for key, (_, _, b) in built.items()}
        rates = {key: [] for key in built}
        for key, (_, m, _) in built.items():  # warm up: trace and compile
            images_per_second(m, feeds[key], FLAGS.warmup, config.batch_size)
        for _ in range(FLAGS.rounds):
            for key, (_, m, _) in built.items():
                rates[key].append(images_per_second(m, feeds[key], FLAGS.steps, config.batch_size))
        cells, best = [], {}
        for precision in PRECISIONS:
            per_compiler = {c: max(rates[precision, c]) for c in COMPILERS if (precision, c) in rates}
            if not per_compiler:
                cells.append("-")
                continue
            best[precision] = max(per_compiler.values())
            cells.append(" / ".join(f"**{r:.0f}**" if r == best[precision] else f"{r:.0f}"
                                    for r in per_compiler.values()))
        fraction = {p: flops * best[p] / config.batch_size / 1e9 / peaks[p] for p in best}
        bf16 = "mixed_bfloat16" in best
        ratio = f"{best['mixed_bfloat16'] / best['float32']:.2f}x" if bf16 else "-"
        bf16_fraction = f"{fraction['mixed_bfloat16']:.3f}" if bf16 else "-"
        print(f"| {name} | {config.batch_size} | {cells[0]} | {cells[1]} | {ratio} | {fraction['float32']:.3f} "
              f"| {bf16_fraction} |", flush=True)


if __name__ == "__main__":
    app.run(main)
