"""A family on Fashion-MNIST: unsupervised clustering with 30 clusters (the PixelGAN protocol) and
semi-supervised classification with 100 and 1000 labels, several seeds each (PixelGAN Table 1's
settings, with the AAE as the baseline at the same budget).

    python -m experiments.fashion_mnist_table --family=aae --seeds=0,1,2 --steps=3000 --workdir=runs/aae_fm
    python -m experiments.fashion_mnist_table --family=pixelgan --seeds=0,1,2 --steps=3000 --workdir=runs/pixelgan_fm

The family's presets `<family>/<dataset>_clustering` and `<family>/<dataset>_semi_supervised`
define the runs (`aae/mnist_*`, `pixelgan/mnist_*`, ...), or the Fashion-MNIST ones for a dataset
without its own. Where the paper reports the row (PixelGAN Table 1 on MNIST, with the AAE's numbers
it quotes), the table shows it beside:

    python -m experiments.fashion_mnist_table --family=pixelgan --dataset=mnist \\
        --settings=clustering,labels20,labels50,labels100 --set=source_dir=../shared/data/mnist
    python -m experiments.fashion_mnist_table --family=pixelgan --dataset=svhn_cropped --settings=labels500,labels1000
    python -m experiments.fashion_mnist_table --family=pixelgan --dataset=smallnorb \\
        --settings=labels1000 --set=num_clusters=5

Each (setting, seed) is an ordinary zoo run in <workdir>/<setting>_seed<k> (resumable; finished runs
are not retrained), evaluated by zoo.evaluation. Prints a markdown table of mean ± std over seeds
with the budget and wall time, and writes <workdir>/results.json.
"""
from __future__ import annotations

import os

import numpy as np
from absl import app, flags

from experiments import runs
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("family", "aae", "model family with fashion_mnist_clustering / _semi_supervised presets")
flags.DEFINE_list("seeds", ["0", "1", "2"], "run seeds")
flags.DEFINE_integer("steps", 3000, "training steps per run")
flags.DEFINE_string("workdir", "", "root directory of the runs (default runs/<family>_fm)")
flags.DEFINE_list("settings", ["clustering", "labels100", "labels1000"], "which settings to run")
flags.DEFINE_string("dataset", "fashion_mnist", "dataset of every run")
flags.DEFINE_multi_string("set", [], "extra config overrides for every run")

SETTINGS = {  # setting -> (preset suffix, overrides, reported metric)
    "clustering": ("clustering", [], "clustering_error"),
    **{f"labels{n}": ("semi_supervised", [f"num_labels={n}"], "classification_error")
       for n in (20, 50, 100, 500, 1000)},
}
# (family, dataset) -> setting -> the paper's error (%): PixelGAN autoencoders Table 1 (the AAE's
# numbers as that table quotes them, from Makhzani et al. 2015).
PAPER = {
    ("pixelgan", "mnist"): {"clustering": "5.27 ± 1.81", "labels20": "12.08 ± 5.50", "labels50": "1.16 ± 0.17",
                            "labels100": "1.08 ± 0.15"},
    ("aae", "mnist"): {"clustering": "4.10 ± 1.13", "labels100": "1.90 ± 0.10"},
    # Implicit autoencoders (Makhzani 2018): unsupervised clustering with 30 categories, and 100 labels.
    ("iae", "mnist"): {"clustering": "about 5", "labels100": "1.40"},
}

preset_for = runs.preset_for


def run_one(family: str, setting: str, seed: int, steps: int, root: str, extra: list[str],
            dataset: str = "fashion_mnist") -> dict:
    from zoo import evaluation, registry

    suffix, overrides, _ = SETTINGS[setting]
    preset = preset_for(family, dataset, suffix)
    workdir = os.path.join(root, f"{setting}_seed{seed}")
    config = registry.resolve(preset_name=preset, dataset=dataset, seed=seed, steps=steps,
                              overrides=overrides + extra)
    minutes = runs.timed_run(config, workdir)
    result = evaluation.evaluate(workdir)
    result["train_minutes"] = minutes
    result.update(setting=setting, seed=seed, batch_size=config.batch_size, steps=config.steps, preset=preset)
    return result


def summarize(results: list[dict], paper: dict | None = None) -> str:
    paper = paper or {}
    lines = ["| setting | metric | mean ± std | paper | seeds | steps x batch | train wall time / run |",
             "|---|---|---|---|---|---|---|"]
    for setting in SETTINGS:
        rows = [r for r in results if r["setting"] == setting]
        if not rows:
            continue
        metric = SETTINGS[setting][2]
        values = np.array([r[metric] for r in rows]) * 100
        extra = []
        if "hungarian_error" in rows[0]:
            extra.append(f"hungarian {np.mean([r['hungarian_error'] for r in rows]) * 100:.2f}%")
        if all("clusters_used" in r for r in rows):
            extra.append("clusters used " + "/".join(str(r["clusters_used"]) for r in rows))
        if all("code_recovery" in r for r in rows):  # the FIAE: does q(y | x) recover the z of g(z, n)?
            extra.append("code recovery " + "/".join(f"{r['code_recovery'] * 100:.1f}%" for r in rows))
        minutes = [r.get("train_minutes") for r in rows]  # None: a run trained before timing was kept
        wall = f"{np.mean(minutes):.1f} min" if None not in minutes else "-"
        lines.append(f"| {setting} | {metric} (%) | {runs.mean_std(values, 2)}"
                     f"{' (' + ', '.join(extra) + ')' if extra else ''} | {paper.get(setting, '-')} | {len(rows)} | "
                     f"{rows[0]['steps']} x {rows[0]['batch_size']} | {wall} |")
    return "\n".join(lines)


@cli.report_errors
def main(argv):
    default = f"runs/{FLAGS.family}_fm" if FLAGS.dataset == "fashion_mnist" else f"runs/{FLAGS.family}_{FLAGS.dataset}"
    root = FLAGS.workdir or default
    unknown = [s for s in FLAGS.settings if s not in SETTINGS]
    if unknown:  # before any run trains
        raise ValueError(f"unknown settings {unknown}; known: {', '.join(SETTINGS)}")
    results = [run_one(FLAGS.family, setting, int(seed), FLAGS.steps, root, FLAGS.set, FLAGS.dataset)
               for setting in FLAGS.settings for seed in FLAGS.seeds]
    runs.merge_results(os.path.join(root, "results.json"), results, key=("setting", "seed"))
    print(summarize(results, PAPER.get((FLAGS.family, FLAGS.dataset))))


if __name__ == "__main__":
    app.run(main)
