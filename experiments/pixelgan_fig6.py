"""PixelGAN Fig. 6: samples of each cluster of a categorical PixelGAN (30 clusters on MNIST in the
paper; here Fashion-MNIST). Row k holds samples drawn with the one-hot code of cluster k; clusters
are ordered by the label they take under the clustering protocol, and each row is headed by that
label.

    python -m experiments.fashion_mnist_table --family=pixelgan --settings=clustering --seeds=0
    python -m experiments.pixelgan_fig6 --workdir=runs/pixelgan_fm/clustering_seed0 \\
        --out=docs/pixelgan_fig6_clusters.png

Sampling uses the cached sampler: about a second per row of 10 samples on 2 CPU cores.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "a trained categorical pixelgan run", required=True)
flags.DEFINE_string("out", "docs/pixelgan_fig6_clusters.png", "PNG to write")
flags.DEFINE_integer("samples", 10, "samples per cluster")
flags.DEFINE_integer("seed", 0, "sampling seed")


@cli.report_errors
def main(argv):
    from zoo import evaluation, training, visualize

    config, _, model = training.restore(FLAGS.workdir)
    if config.model != "pixelgan" or not config.num_clusters:
        raise ValueError(f"{FLAGS.workdir} is not a categorical pixelgan run (model={config.model})")
    k, n = config.num_clusters, FLAGS.samples
    labels = evaluation.cluster_labels(model, config)
    order = np.argsort(labels, kind="stable")
    codes = tf.one_hot(np.repeat(order, n), k)
    sample = tf.function(model.sample_given_code)
    images = sample(codes, tf.constant([FLAGS.seed, 0])).numpy()
    names = model.spec.label_names or [str(i) for i in range(model.spec.num_classes)]
    row_labels = [f"cluster {c}: {names[labels[c]]}" for c in order]
    picture = visualize.labeled_rows(images, n, row_labels, f"PixelGAN, {k} clusters: samples of each cluster")
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    visualize.save_png(picture, FLAGS.out)
    print(FLAGS.out)


if __name__ == "__main__":
    app.run(main)
