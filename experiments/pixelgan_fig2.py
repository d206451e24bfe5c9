"""PixelGAN Fig. 2: samples of a PixelGAN autoencoder with a 2-D Gaussian code and a PixelCNN of
receptive field 9 (location-dependent bias), beside a PixelCNN alone with the same receptive field
and an AAE with a 2-D code. The PixelCNN alone captures local but not global structure; the AAE the
global shape but blurred; the PixelGAN both (the code carries the global information).

    python -m experiments.pixelgan_fig2 --workdir=runs/fig2 --out=docs/pixelgan_fig2_samples.png
    python -m experiments.pixelgan_fig2 --dataset=mnist --set=source_dir=../shared/data/mnist \\
        --workdir=runs/fig2_mnist --out=docs/pixelgan_fig2_samples_mnist.png

A dataset's own presets (pixelgan/mnist_gaussian, pixelcnn/mnist_rf9) are used where they exist.
"""
from __future__ import annotations

import tensorflow as tf
from absl import app

from experiments import common, runs
from zoo import cli


def run_specs(dataset: str) -> dict:
    return {
        "pixelgan_gaussian_rf9": (runs.preset_for("pixelgan", dataset, "gaussian",
                                                  "pixelgan/fashion_mnist_gaussian_rf9"), []),
        "pixelcnn_rf9": (runs.preset_for("pixelcnn", dataset, "rf9"), []),
        "aae_2d": ("aae/default", ["code_size=2"]),
    }


@cli.report_errors
def main(argv):
    from zoo import training, visualize

    workdirs = common.train_runs(run_specs(common.FLAGS.dataset), common.FLAGS.workdir or "runs/fig2")
    panels = {}
    for name, workdir in workdirs.items():
        _, _, model = training.restore(workdir)
        samples = model.traced("sample")(36, tf.constant([common.FLAGS.seed, 0])).numpy()
        panels[name.replace("_", " ")] = visualize.grid(samples, columns=6)
    common.write(visualize.panels(panels, "PixelGAN Fig. 2: samples"), "docs/pixelgan_fig2_samples.png")


if __name__ == "__main__":
    app.run(main)
