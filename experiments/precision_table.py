"""float32 against bfloat16 on a family's own quality figure: the same preset, seeds and budget
trained twice, once per `precision`, both by TensorFlow's graph executor (`jit_compile=false`: XLA's
CPU backend has no bfloat16 kernels, and its random streams differ from the graph kernels', which
would make the two precisions different draws rather than different arithmetic).

    python -m experiments.precision_table --preset=aae/mnist_clustering --seeds=0,1 --steps=3000 \\
        --set=source_dir=../shared/data/mnist --workdir=runs/precision_aae
    python -m experiments.precision_table --preset=pixelgan/mnist_clustering --seeds=0,1 --steps=1000 \\
        --set=source_dir=../shared/data/mnist --workdir=runs/precision_pixelgan

Each (precision, seed) is an ordinary zoo run in <workdir>/<precision>_seed<k> (resumable), evaluated
by zoo.evaluation on the test split. Prints, per precision, every metric's mean ± std over seeds and
the training wall time per run, and whether bfloat16's mean lies within float32's seed spread (the
larger of the two standard deviations; every metric here is lower-is-better); writes <workdir>/results.json.
"""
from __future__ import annotations

import os

import numpy as np
from absl import app, flags

from experiments import runs
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "aae/mnist_clustering", "the preset both precisions train")
flags.DEFINE_list("seeds", ["0", "1"], "run seeds")
flags.DEFINE_integer("steps", 3000, "training steps per run")
flags.DEFINE_string("workdir", "", "root directory of the runs (default runs/precision_<preset>)")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "precisions to compare (the first is the reference)")
flags.DEFINE_multi_string("set", [], "extra config overrides for every run")

# Metrics worth comparing, where the evaluation reports them (lower is better for all).
METRICS = ("clustering_error", "classification_error", "bits_per_dim", "reconstruction_error", "fid")


def run_one(preset: str, precision: str, seed: int, steps: int, root: str, extra: list[str]) -> dict:
    from zoo import evaluation, registry

    workdir = os.path.join(root, f"{precision}_seed{seed}")
    config = registry.resolve(preset_name=preset, seed=seed, steps=steps,
                              overrides=[*extra, f"precision={precision}", "jit_compile=false"])
    minutes = runs.timed_run(config, workdir)
    result = evaluation.evaluate(workdir)
    result.update(precision=precision, seed=seed, train_minutes=minutes, steps=config.steps,
                  batch_size=config.batch_size, preset=preset)
    return result


def summarize(results: list[dict], precisions: list[str]) -> str:
    by_precision = {p: [r for r in results if r["precision"] == p] for p in precisions}
    metrics = [m for m in METRICS if all(m in r for rows in by_precision.values() for r in rows)]
    reference = precisions[0]
    lines = ["| precision | " + " | ".join(metrics) + " | seeds | steps x batch | train wall time / run |",
             "|---" * (len(metrics) + 4) + "|"]
    for precision, rows in by_precision.items():
        if not rows:
            continue
        cells = []
        for metric in metrics:
            values = np.array([r[metric] for r in rows])
            cell = runs.mean_std(values, 4)
            if precision != reference and by_precision[reference]:
                ref = np.array([r[metric] for r in by_precision[reference]])
                spread = max(ref.std(ddof=1) if len(ref) > 1 else 0.0, values.std(ddof=1) if len(values) > 1 else 0.0)
                difference = values.mean() - ref.mean()
                where = "within" if abs(difference) <= spread else "outside"
                cell += f" ({difference:+.4f}: {where} the seed spread)"
            cells.append(cell)
        minutes = [r["train_minutes"] for r in rows]
        wall = f"{np.mean(minutes):.1f} min" if None not in minutes else "-"
        lines.append(f"| {precision} | " + " | ".join(cells) +
                     f" | {len(rows)} | {rows[0]['steps']} x {rows[0]['batch_size']} | {wall} |")
    return "\n".join(lines)


@cli.report_errors
def main(argv):
    root = FLAGS.workdir or os.path.join("runs", "precision_" + FLAGS.preset.replace("/", "_"))
    results = [run_one(FLAGS.preset, precision, int(seed), FLAGS.steps, root, FLAGS.set)
               for seed in FLAGS.seeds for precision in FLAGS.precisions]
    merged = runs.merge_results(os.path.join(root, "results.json"), results, key=("precision", "seed"))
    print(summarize([r for r in merged if str(r["seed"]) in FLAGS.seeds], FLAGS.precisions))


if __name__ == "__main__":
    app.run(main)
