"""Learned priors for AAEs on Fashion-MNIST or MNIST (Wang et al. 2020, Tables 1 and 3, Figs. 8-10): the AAE,
VAE, VampPrior and the learned prior on the same convolutional autoencoder and budget, the
learned prior's ablation (A: learned prior, B: perceptual loss, C: decoder in both phases), code
sizes, and the supervised conditional prior.

    python -m experiments.lp_table --seeds=0,1,2 --steps=3000 --workdir=runs/lp_fm
    python -m experiments.lp_table --rows=aae,vae,vampprior,lpaae --code_sizes=8,100 --seeds=0,1,2
    python -m experiments.lp_table --rows=supervised,unsupervised --seeds=0,1,2 --figures_dir=docs
    python -m experiments.lp_table --dataset=mnist --set=source_dir=../shared/data/mnist --workdir=runs/lp_mnist \\
        --rows=aae,lpaae --code_sizes=8,100          # the paper's MNIST from its IDX files

Scores: classifier-based Inception Score of 5,000 samples and FID between their features and the
test set's, both with the zoo's classifier of the dataset (`zoo.classifier`, named in the output;
`--scorer=inception` uses Inception-v3 where its weights are available). The conditional rows draw
the grids of Figs. 10 and 12 (a condition s per column, the noise z shared along each row) and
report how well s decides the class of its samples: the supervised prior, the share of samples the
classifier gives the requested label (conditional accuracy); the unsupervised prior, whose
categories have no names, the error of the best one-to-one map of categories to the classifier's
labels (category error, Hungarian).

Each run is resumable and keeps its training time and scores in its directory, so invocations with
different --rows can run side by side, and a last one over all rows prints the whole table without
retraining or rescoring; <workdir>/results.json collects every run scored, and `--report` prints
its table without training anything.
"""
from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from experiments import runs
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_list("rows", ["aae", "vae", "vampprior", "lpaae", "ablation_none", "ablation_a", "ablation_ab"],
                  "rows of the table (see ROWS)")
flags.DEFINE_list("code_sizes", ["16"], "code sizes")
flags.DEFINE_list("seeds", ["0", "1", "2"], "run seeds")
flags.DEFINE_integer("steps", 3000, "training steps per run")
flags.DEFINE_string("workdir", "runs/lp_fm", "root directory of the runs")
flags.DEFINE_string("dataset", "fashion_mnist", "dataset")
flags.DEFINE_integer("samples", 5000, "samples scored per run")
flags.DEFINE_string("scorer", "zoo", "'zoo' (the zoo's classifier of the dataset) or 'inception'")
flags.DEFINE_string("figures_dir", "docs", "where the conditional rows' grids go (FIGURES)")
flags.DEFINE_integer("figure_seed", 0, "the seed whose run draws a conditional row's grid")
flags.DEFINE_multi_string("set", [], "extra config overrides for every run")
flags.DEFINE_bool("score_data", False, "also score --samples training images as the row 'data' (the scores' "
                  "ceiling: real images against the test set)")
flags.DEFINE_bool("report", False, "print the table of every run scored in <workdir>/results.json; train nothing")

AUTOENCODER = ["architecture=conv", "widths=32,64"]  # every row's encoder / decoder
ROWS = {  # name -> (preset, overrides): the same autoencoder, the model's own prior and losses
    "aae": ("aae/default", AUTOENCODER + ["discriminator_widths=256,256", "learning_rate=2e-4"]),
    "vae": ("vae/fashion_mnist", AUTOENCODER),
    "vampprior": ("vampprior/fashion_mnist", AUTOENCODER + ["pseudo_inputs=100"]),
    "lpaae": ("lpaae/fashion_mnist", AUTOENCODER),  # A + B + C
    "ablation_none": ("lpaae/fashion_mnist", AUTOENCODER + ["learned_prior=false", "perceptual=false",
                                                            "decoder_in_prior_phase=false"]),
    "ablation_a": ("lpaae/fashion_mnist", AUTOENCODER + ["perceptual=false", "decoder_in_prior_phase=false"]),
    "ablation_ab": ("lpaae/fashion_mnist", AUTOENCODER + ["decoder_in_prior_phase=false"]),
    "supervised": ("lpaae/fashion_mnist", AUTOENCODER + ["conditioning=supervised"]),
    "unsupervised": ("lpaae/fashion_mnist", AUTOENCODER + ["conditioning=unsupervised"]),
}
FIGURES = {"supervised": "lpaae_fig10_supervised.png", "unsupervised": "lpaae_fig12_unsupervised.png"}


def score(model, scorer, reference_features, n: int, seed: int) -> dict:
    sample = tf.function(lambda k, s: model.sample(k, s))
    images = np.concatenate([sample(tf.constant(500), tf.constant([seed, 9000 + i])).numpy()
                             for i in range(0, n, 500)])[:n]
    return image_scores(images, scorer, reference_features)


def image_scores(images, scorer, reference_features) -> dict:
    """Classifier-based Inception Score of the images and FID of their features against the reference."""
    from zoo import metrics

    inception, _ = metrics.inception_score(scorer.probabilities(images))
    return {"inception_score": inception,
            "fid": metrics.frechet_distance(scorer.features(images), reference_features)}


def conditional_scores(model, scorer, n_per_condition: int, seed: int) -> dict:
    """How well s decides the class the classifier gives G(CG(z, s))."""
    from zoo import metrics

    conditions = np.repeat(np.arange(model.num_conditions), n_per_condition)
    images = model.sample_conditional(tf.constant(conditions, tf.int32), tf.constant([seed, 77])).numpy()
    predicted = np.argmax(scorer.probabilities(images), axis=1)
    if model.config.conditioning == "supervised":
        return {"conditional_accuracy": float(np.mean(predicted == conditions))}
    classes = max(model.num_conditions, int(predicted.max()) + 1)
    return {"category_error": metrics.hungarian_error(conditions, predicted, classes)}


def condition_grid(model, rows: int, seed: int):
    """Columns share the condition s, rows share the noise z."""
    from zoo import visualize

    k = model.num_conditions
    condition = tf.one_hot(np.tile(np.arange(k), rows), k)
    z = tf.repeat(tf.random.stateless_normal([rows, model.config.noise_size], [seed, 5]), k, axis=0)
    images = model.decode(model.code_generator(tf.concat([z, condition], axis=-1))).numpy()
    return visualize.grid(images, columns=k)


def scores_of(workdir: str, row: str, seed: int, steps: int, scorer, reference) -> dict:
    """The run's scores, kept in <workdir>/scores.json for its step count, this scorer and sample count
    (a conditional row's grid is drawn when its run of --figure_seed is scored)."""
    from zoo import training, visualize

    path = os.path.join(workdir, "scores.json")
    if os.path.exists(path):
        with open(path) as f:
            kept = json.load(f)
        if (kept["steps"], kept["scorer"], kept["samples"]) == (steps, scorer.name, FLAGS.samples):
            return kept["scores"]
    _, _, model = training.restore(workdir)
    scores = score(model, scorer, reference, FLAGS.samples, seed)
    if row in FIGURES:
        scores.update(conditional_scores(model, scorer, 500, seed))
        if seed == FLAGS.figure_seed:
            os.makedirs(FLAGS.figures_dir, exist_ok=True)
            visualize.save_png(condition_grid(model, 8, seed), os.path.join(FLAGS.figures_dir, FIGURES[row]))
    with open(path, "w") as f:
        json.dump({"steps": steps, "scorer": scorer.name, "samples": FLAGS.samples, "scores": scores}, f)
    return scores


def summarize(results: list[dict]) -> str:
    """The markdown table of scored runs: one line per (row, code size), in ROWS' order, data last."""
    order = list(ROWS) + ["data"]
    groups = {}
    for r in sorted(results, key=lambda r: (order.index(r["row"]) if r["row"] in order else len(order),
                                            r["code_size"])):
        groups.setdefault((r["row"], r["code_size"]), []).append(r)
    steps = sorted({r["steps"] for r in results})
    lines = [f"\nscored with {'; '.join(sorted({r['scorer'] for r in results}))}; {steps} steps per run\n",
             "| row | code size | Inception Score ↑ | FID ↓ | conditional accuracy ↑ | category error ↓ | seeds "
             "| train wall time / run |", "|---|---|---|---|---|---|---|---|"]
    for (row, code_size), rows in groups.items():
        cells = [runs.mean_std([r[key] for r in rows if key in r])
                 for key in ("inception_score", "fid", "conditional_accuracy", "category_error")]
        minutes = [r["train_minutes"] for r in rows]
        wall = f"{np.mean(minutes):.1f} min" if None not in minutes else "-"
        seeds = ",".join(str(r["seed"]) for r in sorted(rows, key=lambda r: r["seed"]))
        lines.append(f"| {row} | {code_size} | " + " | ".join(cells) + f" | {len(rows)} ({seeds}) | {wall} |")
    return "\n".join(lines)


@cli.report_errors
def main(argv):
    from zoo import classifier as zoo_classifier
    from zoo import data, registry

    if FLAGS.report:
        with open(os.path.join(FLAGS.workdir, "results.json")) as f:
            print(summarize(json.load(f)))
        return
    unknown = [r for r in FLAGS.rows if r not in ROWS]
    if unknown:
        raise ValueError(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
    where = runs.data_options(FLAGS.set)
    scorer = (zoo_classifier.Scorer.zoo(FLAGS.dataset, **where) if FLAGS.scorer == "zoo"
              else zoo_classifier.Scorer.inception())
    reference = scorer.features(data.arrays(FLAGS.dataset, "test", **where)["image"])
    results = []
    if FLAGS.score_data:
        images = data.arrays(FLAGS.dataset, "train", limit=FLAGS.samples, **where)["image"]
        result = {"row": "data", "code_size": 0, "seed": 0, "steps": 0, "train_minutes": 0.0, "scorer": scorer.name,
                  **image_scores(images, scorer, reference)}
        print(json.dumps(result), flush=True)
        results.append(result)
    for row in FLAGS.rows:
        preset, overrides = ROWS[row]
        for code_size in map(int, FLAGS.code_sizes):
            for seed in map(int, FLAGS.seeds):
                config = registry.resolve(preset_name=preset, dataset=FLAGS.dataset, seed=seed, steps=FLAGS.steps,
                                          overrides=overrides + [f"code_size={code_size}"] + FLAGS.set)
                workdir = os.path.join(FLAGS.workdir, f"{row}_code{code_size}_seed{seed}")
                result = {"row": row, "code_size": code_size, "seed": seed, "steps": config.steps,
                          "train_minutes": runs.timed_run(config, workdir), "scorer": scorer.name}
                result.update(scores_of(workdir, row, seed, config.steps, scorer, reference))
                print(json.dumps(result), flush=True)
                results.append(result)
    runs.merge_results(os.path.join(FLAGS.workdir, "results.json"), results, key=("row", "code_size", "seed"))
    print(summarize(results))


if __name__ == "__main__":
    app.run(main)
