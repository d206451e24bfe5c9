"""PixelGAN Fig. 5: a categorical PixelGAN on the first three classes with three clusters; the codes
(the encoder's softmax) on the probability simplex, drawn as a triangle, with and without the GAN on
the code. With the GAN the codes sit on the corners (one-hot, like the prior's samples) and each
corner collects one class; without it the code is free and nothing pushes it to a discrete split.

    python -m experiments.pixelgan_fig5 --workdir=runs/fig5 --steps=1500 --out=docs/pixelgan_fig5_simplex.png

Each panel's title gives the clustering error (Hungarian matching of 3 clusters to 3 classes) on the
test images of those classes.
"""
from __future__ import annotations

import tensorflow as tf
from absl import app

from experiments import common
from zoo import cli

_THREE_CLASSES = ["classes=0,1,2", "num_clusters=3", "decoder_blocks=3"]
RUNS = {
    "with_gan": ("pixelgan/fashion_mnist_clustering", _THREE_CLASSES),
    "without_gan": ("pixelgan/fashion_mnist_clustering", _THREE_CLASSES + ["adversarial=false"]),
}


@cli.report_errors
def main(argv):
    from zoo import data, evaluation, training, visualize

    workdirs = common.train_runs(RUNS, common.FLAGS.workdir or "runs/fig5")
    panels = {}
    for name, workdir in workdirs.items():
        config, spec, model = training.restore(workdir)
        error = evaluation.evaluate(workdir)["hungarian_error"]
        test = data.arrays(config.dataset, "test", limit=3000, **training.data_options(config))
        probabilities = model.classify(tf.constant(test["image"]), tf.constant([config.seed, 1])).numpy()
        title = f"clustering error {error * 100:.1f}% ({config.steps} steps)"
        panels[name.replace("_", " ")] = visualize.simplex_scatter(probabilities, test["label"], title,
                                                                   list(spec.label_names))
    common.write(visualize.panels(panels, "PixelGAN Fig. 5: softmax codes of 3 classes, 3 clusters"),
                 "docs/pixelgan_fig5_simplex.png")


if __name__ == "__main__":
    app.run(main)
