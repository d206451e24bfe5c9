"""Learned priors, Figs. 11 and 13 (Wang et al. 2020): t-SNE of the code generator's output CG(z, s)
and of the encoder's codes E(x) of test images, embedded together so that both panels share one
map. With a conditional prior the prior codes are coloured by their condition s (Fig. 11:
supervised, s = the label; Fig. 13: unsupervised, s = a category) and the test codes by their label.

Also printed, in the code space itself (not the 2-D map): which condition the nearest prior code of
each test code carries, scored against the test label -- for a supervised prior the share that
agrees (do images of class k encode into the prior's mode for k?), for an unsupervised one the
error of the best one-to-one map of categories to labels (Hungarian).

    python -m experiments.lp_table --rows=supervised,unsupervised --seeds=0 --workdir=runs/lp_fm
    python -m experiments.lpaae_tsne --workdir=runs/lp_fm/supervised_code16_seed0 --out=docs/lpaae_fig11_tsne.png
    python -m experiments.lpaae_tsne --workdir=runs/lp_fm/unsupervised_code16_seed0 --out=docs/lpaae_fig13_tsne.png
"""
from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "a trained lpaae run", required=True)
flags.DEFINE_string("out", "docs/lpaae_tsne.png", "PNG to write")
flags.DEFINE_integer("examples", 2000, "prior codes and test codes each")
flags.DEFINE_integer("seed", 0, "seed of the prior draws and of t-SNE")


@cli.report_errors
def main(argv):
    from sklearn.manifold import TSNE

    from zoo import data, metrics, training, visualize

    config, spec, model = training.restore(FLAGS.workdir)
    if config.model != "lpaae" or not config.learned_prior or config.conditioning == "embedding":
        raise ValueError(f"{FLAGS.workdir} is not an lpaae run with a learned prior and no or label conditions "
                         f"(model={config.model}, conditioning={getattr(config, 'conditioning', None)})")
    n = FLAGS.examples
    prior_codes, condition = model.prior_code(n, tf.constant([FLAGS.seed, 11]))
    prior_codes = prior_codes.numpy()
    conditions = None if condition is None else np.argmax(condition.numpy(), axis=1)
    test = data.arrays(config.dataset, "test", limit=n, **training.data_options(config))
    test_codes = np.concatenate([model.encode(test["image"][i:i + 500])["code"].numpy()
                                 for i in range(0, len(test["image"]), 500)])
    labels = test["label"]

    result = {"workdir": FLAGS.workdir, "conditioning": config.conditioning, "code_size": config.code_size}
    if conditions is not None:
        result.update(metrics.nearest_condition_scores(prior_codes, conditions, test_codes, labels,
                                                      config.conditioning))
    print(json.dumps(result))

    embedded = TSNE(n_components=2, init="pca", random_state=FLAGS.seed).fit_transform(
        np.concatenate([prior_codes, test_codes]).astype(np.float64))
    axes = ("t-SNE 1", "t-SNE 2")
    condition_name = {"supervised": "label s", "unsupervised": "category s"}.get(config.conditioning, "")
    pictures = {
        f"prior codes CG(z{', s' if conditions is not None else ''})"
        + (f", coloured by {condition_name}" if conditions is not None else ""):
            visualize.latent_scatter(embedded[:len(prior_codes)], conditions, "prior", axes),
        "encoder codes E(x) of test images, coloured by label":
            visualize.latent_scatter(embedded[len(prior_codes):], labels, "encoder", axes),
    }
    title = f"lpaae ({config.conditioning} prior, {config.code_size}-D code): t-SNE of prior and encoder codes"
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    visualize.save_png(visualize.panels(pictures, title), FLAGS.out)
    print(FLAGS.out)


if __name__ == "__main__":
    app.run(main)
