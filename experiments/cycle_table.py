"""CycleIAE vs CycleGAN on fashion_edges2shoes (IAE Section 3, Fig. 8): the same generators, noises
(a deterministic encoder, a 100-D decoder noise), discriminators and budget; several seeds each.

    python -m experiments.cycle_table --seeds=0,1,2 --steps=2000 --workdir=runs/cycle_fm --out=docs/cycleiae_fig8.png

Measured on test images, for shoes x with codes z_hat = f(x) and real edge maps b:
  - diversity: how much reconstructions g(z_hat, n) of one x differ across 4 noise draws (mean
    absolute pixel difference over pairs of draws; 0 = the decoder ignores its noise, the IAE
    paper's claim for the L1 cycle);
  - content kept: the share of pixels where the edge map of a reconstruction disagrees with its
    code z_hat (and, for translations of real edge maps, the edge map of g(b, n) with b); lower is
    better, `zoo.data.domains.edge_map` is the edge detector that made the dataset;
  - collapse: the codes' spread (each pixel's standard deviation across test shoes, averaged; real
    edge maps' spread is printed beside it) and how much of its own input a reconstruction keeps
    (|g(f(x)) - x| over |g(f(x)) - x'| for another shoe x': 1 = the input is ignored);
  - realism: the probability the zoo's domain classifier (`zoo.classifier`, trained on real shoes vs
    real edge maps) gives "shoe" to translations g(b, n) and "edges" to codes f(x), and the Frechet
    distance between the classifier's features of translations and of real test shoes, and of codes
    and real test edge maps (a domain classifier separates the domains by any cue, so the
    probabilities saturate; the distances still compare the two distributions).
Prints a markdown table (mean ± std over seeds) and writes <workdir>/results.json; the PNG is Fig. 8's
layout for each family's first seed: input, code, then reconstructions, the noise fixed down a column.
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
flags.DEFINE_list("families", ["cycleiae", "cyclegan"], "families compared")
flags.DEFINE_list("seeds", ["0", "1", "2"], "run seeds")
flags.DEFINE_integer("steps", 2000, "training steps per run")
flags.DEFINE_string("workdir", "runs/cycle_fm", "root directory of the runs")
flags.DEFINE_string("preset", "fashion_edges2shoes", "preset name within each family")
flags.DEFINE_string("dataset", "fashion_edges2shoes", "two-domain dataset")
flags.DEFINE_integer("examples", 500, "test images per domain measured")
flags.DEFINE_integer("draws", 4, "noise draws per input")
flags.DEFINE_string("out", "docs/cycleiae_fig8.png", "Fig. 8 PNG")
flags.DEFINE_integer("classifier_epochs", 3, "epochs of the domain classifier (zoo.classifier, cached)")
flags.DEFINE_multi_string("set", [], "extra config overrides for every run")

COLUMNS = {  # result key -> (table header, lower is better)
    "diversity": ("diversity of reconstructions", False),
    "content_reconstruction": ("edge disagreement, reconstruction vs code", True),
    "content_translation": ("edge disagreement, translation vs edge map", True),
    "realism_translation": ("P(shoe) of translations", False),
    "realism_code": ("P(edges) of codes", False),
    "fid_translation": ("FID, translations vs shoes", True),
    "fid_code": ("FID, codes vs edge maps", True),
    "code_spread": ("spread of codes", False),
    "input_kept": ("reconstruction error, own / other input", True),
}


def measure(model, shoes, edge_maps, scorer, reference: dict, draws: int, seed: int) -> dict:
    """`scorer`: a zoo.classifier.Scorer of the two-domain dataset (label 0 = shoes, 1 = edges);
    `reference`: its features of the real `shoes` and `edge_maps`."""
    from zoo import metrics
    from zoo.data import domains

    base = tf.constant([seed, 7], tf.int32)
    codes = model.translate(tf.constant(shoes), base).numpy()
    seeds = [tf.random.experimental.stateless_fold_in(base, k + 1) for k in range(draws)]
    reconstructions = np.stack([model.decode(codes, s).numpy() for s in seeds])
    translations = np.stack([model.decode(tf.constant(edge_maps), s).numpy() for s in seeds])
    return {
        "diversity": metrics.diversity(reconstructions),
        "content_reconstruction": metrics.edge_disagreement(domains.edge_map(reconstructions[0]), codes),
        "content_translation": metrics.edge_disagreement(domains.edge_map(translations[0]), edge_maps),
        "realism_translation": metrics.domain_score(scorer.probabilities(translations[0]), 0),
        "realism_code": metrics.domain_score(scorer.probabilities(codes), 1),
        "fid_translation": metrics.frechet_distance(scorer.features(translations[0]), reference["shoes"]),
        "fid_code": metrics.frechet_distance(scorer.features(codes), reference["edge_maps"]),
        "code_spread": metrics.spread(codes),
        "input_kept": metrics.input_kept(reconstructions[0], shoes),
    }


def summarize(results: list[dict], steps: int, batch_size: int) -> str:
    lines = ["| family | " + " | ".join(header for header, _ in COLUMNS.values()) + " | seeds |",
             "|---" * (len(COLUMNS) + 2) + "|"]
    for family in dict.fromkeys(r["family"] for r in results):
        rows = [r for r in results if r["family"] == family]
        cells = [runs.mean_std([r[key] for r in rows], 4) for key in COLUMNS]
        lines.append(f"| {family} | " + " | ".join(cells) + f" | {len(rows)} |")
    lines.append(f"\n({steps} steps x batch {batch_size} per run; ↑ higher / ↓ lower is better: "
                 + ", ".join(f"{h} {'↓' if low else '↑'}" for h, low in COLUMNS.values()) + ")")
    return "\n".join(lines)


@cli.report_errors
def main(argv):
    from zoo import classifier as zoo_classifier
    from zoo import data, metrics, registry, training, visualize

    where = runs.data_options(FLAGS.set)
    test = data.arrays(FLAGS.dataset, "test", **where)
    shoes = test["image"][test["label"] == 0][:FLAGS.examples]
    edge_maps = test["image"][test["label"] == 1][:FLAGS.examples]
    scorer = zoo_classifier.Scorer.zoo(FLAGS.dataset, epochs=FLAGS.classifier_epochs, **where)
    reference = {"shoes": scorer.features(shoes), "edge_maps": scorer.features(edge_maps)}
    print(f"spread of real edge maps: {metrics.spread(edge_maps):.4f}", flush=True)
    other_shoes = test["image"][test["label"] == 0][FLAGS.examples:2 * FLAGS.examples]
    other_edges = test["image"][test["label"] == 1][FLAGS.examples:2 * FLAGS.examples]
    if len(other_shoes) > 1 and len(other_edges) > 1:  # the FIDs' floor: real images of the domain
        print(f"FID of {len(other_shoes)} other real shoes: "
              f"{metrics.frechet_distance(scorer.features(other_shoes), reference['shoes']):.4f}; "
              f"of {len(other_edges)} other real edge maps: "
              f"{metrics.frechet_distance(scorer.features(other_edges), reference['edge_maps']):.4f}", flush=True)
    results, panels, batch_size = [], {}, 0
    for family in FLAGS.families:
        for seed in map(int, FLAGS.seeds):
            config = registry.resolve(preset_name=f"{family}/{FLAGS.preset}", dataset=FLAGS.dataset, seed=seed,
                                      steps=FLAGS.steps, overrides=FLAGS.set)
            workdir = os.path.join(FLAGS.workdir, f"{family}_seed{seed}")
            training.run(config, workdir)
            _, _, model = training.restore(workdir)
            measured = measure(model, shoes, edge_maps, scorer, reference, FLAGS.draws, seed)
            result = {"family": family, "seed": seed, "steps": config.steps, "scorer": scorer.name, **measured}
            print(json.dumps(result), flush=True)
            results.append(result)
            batch_size = config.batch_size
            if family not in panels:
                grid = model.translation_grid(tf.constant(shoes[:8]), 6, tf.constant([seed, 3], tf.int32))
                panels[family] = visualize.grid(grid.reshape(-1, *shoes.shape[1:]), columns=grid.shape[1])
    runs.merge_results(os.path.join(FLAGS.workdir, "results.json"), results, key=("family", "seed"))
    print(f"\nrealism scored by {scorer.name}\n")
    print(summarize(results, FLAGS.steps, batch_size))
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    visualize.save_png(visualize.panels(panels, "Fig. 8 layout: input shoe, code (edges), reconstructions; "
                                                "noise fixed down each column"), FLAGS.out)
    print(FLAGS.out)


if __name__ == "__main__":
    app.run(main)
