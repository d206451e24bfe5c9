"""PixelGAN Figs. 6 and 7: samples of each category of a categorical PixelGAN. Row k holds samples
drawn with the one-hot code of category k.
- Fig. 6, an unsupervised run (30 clusters on MNIST): clusters are ordered by the label they take
  under the clustering protocol, and each row is headed by that label.
- Fig. 7, a semi-supervised run (`num_labels` > 0): the cross-entropy on the labeled examples ties
  category k to class k (Section 4), so row k is class k: the code fixes the class, the PixelCNN
  decoder draws the style.

    python -m experiments.fashion_mnist_table --family=pixelgan --settings=clustering --seeds=0
    python -m experiments.pixelgan_fig6 --workdir=runs/pixelgan_fm/clustering_seed0 \\
        --out=docs/pixelgan_fig6_clusters.png
    python -m experiments.pixelgan_fig6 --workdir=runs/pixelgan_mnist/labels100_seed0 \\
        --out=docs/pixelgan_fig7_classes_mnist.png

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
    names = model.spec.label_names or [str(i) for i in range(model.spec.num_classes)]
    if config.num_labels:  # Fig. 7: category k was trained to be class k
        order = np.arange(k)
        row_labels = [f"class {names[c]}" for c in order]
        title = f"PixelGAN, {config.num_labels} labels: samples of each class"
    else:  # Fig. 6: clusters named by the clustering protocol
        labels = evaluation.cluster_labels(model, config)
        order = np.argsort(labels, kind="stable")
        row_labels = [f"cluster {c}: {names[labels[c]]}" for c in order]
        title = f"PixelGAN, {k} clusters: samples of each cluster"
    codes = tf.one_hot(np.repeat(order, n), k)
    sample = tf.function(model.sample_given_code)
    images = sample(codes, tf.constant([FLAGS.seed, 0])).numpy()
    picture = visualize.labeled_rows(images, n, row_labels, title)
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    visualize.save_png(picture, FLAGS.out)
    print(FLAGS.out)


if __name__ == "__main__":
    app.run(main)
