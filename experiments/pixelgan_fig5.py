"""PixelGAN Fig. 5: a categorical PixelGAN on the first three classes with three clusters; the codes
(the encoder's softmax) on the probability simplex, drawn as a triangle, with and without the GAN on
the code. With the GAN the codes sit on the corners (one-hot, like the prior's samples) and each
corner collects one class; without it the code is free and nothing pushes it to a discrete split.

    python -m experiments.pixelgan_fig5 --workdir=runs/fig5 --steps=1500 --out=docs/pixelgan_fig5_simplex.png
    python -m experiments.pixelgan_fig5 --dataset=mnist --set=source_dir=../shared/data/mnist \\
        --workdir=runs/fig5_mnist --out=docs/pixelgan_fig5_simplex_mnist.png   # the paper's digits 0, 1, 2

Each panel's title gives the clustering error (Hungarian matching of 3 clusters to 3 classes) on the
test images of those classes.
"""
from __future__ import annotations

import tensorflow as tf
from absl import app

from experiments import common, runs
from zoo import cli

_THREE_CLASSES = ["classes=0,1,2", "num_clusters=3", "decoder_blocks=3"]


def run_specs(dataset: str) -> dict:
    """The two runs on the dataset's clustering preset (pixelgan/mnist_clustering on MNIST)."""
    preset = runs.preset_for("pixelgan", dataset, "clustering")
    return {"with_gan": (preset, _THREE_CLASSES), "without_gan": (preset, _THREE_CLASSES + ["adversarial=false"])}


@cli.report_errors
def main(argv):
    from zoo import data, evaluation, training, visualize

    workdirs = common.train_runs(run_specs(common.FLAGS.dataset), common.FLAGS.workdir or "runs/fig5")
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
