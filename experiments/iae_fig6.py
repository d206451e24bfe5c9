"""IAE Fig. 6: content and style with a 30-way categorical code and a 10-D decoder noise. Row k holds
g(y_k, n_j): the one-hot code of cluster k with the noise n_j of column j, the same n_j down each
column (the paper's figure is the transpose: a cluster per column, the noise fixed along each row;
rows here carry each cluster's label). Within a row the noise alone varies (style); within a column
the cluster alone varies (content). Clusters are ordered by the label the clustering protocol gives
them.

    python -m experiments.fashion_mnist_table --family=iae --settings=clustering --seeds=0 --workdir=runs/iae_fm
    python -m experiments.iae_fig6 --workdir=runs/iae_fm/clustering_seed0 --out=docs/iae_fig6_clusters.png
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "a trained categorical iae run", required=True)
flags.DEFINE_string("out", "docs/iae_fig6_clusters.png", "PNG to write")
flags.DEFINE_integer("samples", 10, "noise draws (columns)")
flags.DEFINE_integer("seed", 0, "noise seed")


@cli.report_errors
def main(argv):
    from zoo import evaluation, training, visualize

    config, _, model = training.restore(FLAGS.workdir)
    if config.model != "iae" or not config.num_clusters or config.code_size or not config.decoder_noise_size:
        raise ValueError(f"{FLAGS.workdir} is not an iae run with a categorical code only and decoder noise "
                         f"(model={config.model}, num_clusters={config.num_clusters}, code_size={config.code_size})")
    k, n = config.num_clusters, FLAGS.samples
    labels = evaluation.cluster_labels(model, config)
    order = np.argsort(labels, kind="stable")
    codes = tf.one_hot(np.repeat(order, n), k)
    noise = tf.tile(model.decoder_noise(n, tf.constant([FLAGS.seed, 0])), [k, 1])
    images = model.decode(codes, noise).numpy()
    names = model.spec.label_names or [str(i) for i in range(model.spec.num_classes)]
    row_labels = [f"cluster {c}: {names[labels[c]]}" for c in order]
    picture = visualize.labeled_rows(images, n, row_labels,
                                     f"IAE, {k}-way code + {config.decoder_noise_size}-D noise: a cluster per row, "
                                     "one noise per column")
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    visualize.save_png(picture, FLAGS.out)
    print(FLAGS.out)


if __name__ == "__main__":
    app.run(main)
