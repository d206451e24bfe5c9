"""PixelGAN Fig. 3: the 2-D Gaussian code of a PixelGAN autoencoder, coloured by label, for a
shallow (3 residual blocks) and a deep (12) PixelCNN decoder, with location-invariant and
location-dependent biases. The deeper the decoder, the more of the image it models itself and the
less the code has to carry.

    python -m experiments.pixelgan_fig3 --workdir=runs/fig3 --out=docs/pixelgan_fig3_codes.png
    python -m experiments.pixelgan_fig3 --dataset=mnist --set=source_dir=../shared/data/mnist \\
        --workdir=runs/fig3_mnist --out=docs/pixelgan_fig3_codes_mnist.png   # on pixelgan/mnist_gaussian
"""
from __future__ import annotations

import tensorflow as tf
from absl import app

from experiments import common, runs
from zoo import cli


def run_specs(dataset: str) -> dict:
    base = runs.preset_for("pixelgan", dataset, "gaussian", "pixelgan/fashion_mnist_gaussian_rf9")
    return {f"{depth}_{bias}": (base, [f"decoder_blocks={blocks}", "receptive_field=0",
                                       f"conditioning=location_{bias}"])
            for depth, blocks in (("shallow", 3), ("deep", 12)) for bias in ("invariant", "dependent")}


@cli.report_errors
def main(argv):
    from zoo import data, training, visualize

    workdirs = common.train_runs(run_specs(common.FLAGS.dataset), common.FLAGS.workdir or "runs/fig3")
    panels = {}
    for name, workdir in workdirs.items():
        config, _, model = training.restore(workdir)
        validation = data.arrays(config.dataset, "validation", limit=2000, **training.data_options(config))
        codes = model.latent(tf.constant(validation["image"]), tf.constant([config.seed, 1])).numpy()
        panels[name.replace("_", ", location-")] = visualize.latent_scatter(codes, validation["label"], "")
    common.write(visualize.panels(panels, "PixelGAN Fig. 3: 2-D codes by label", columns=2),
                 "docs/pixelgan_fig3_codes.png")


if __name__ == "__main__":
    app.run(main)
