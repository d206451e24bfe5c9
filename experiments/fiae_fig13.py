"""FIAE Fig. 13: deterministic reconstructions through a 15-D code, no noise on either path. The
FIAE never trains on reconstructions directly: the reconstruction GAN on (x, z) vs (x, z_hat)
(Eq. 12) makes q(z | x) invert the generator, and g(f(x)) of a test image is the reconstruction.
Prints the test reconstruction MSE beside the mean-image baseline; the PNG alternates rows of inputs and
of their reconstructions.

    python -m experiments.fiae_fig13 --workdir=runs/fiae_fig13 --steps=3000 --out=docs/fiae_fig13_reconstructions.png

(the preset `fiae/mnist_deterministic` runs on --dataset, fashion_mnist by default).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from absl import app, flags

from experiments import common, runs
from zoo import cli

flags.DEFINE_integer("examples", 1000, "test images measured")


@cli.report_errors
def main(argv):
    from zoo import data, training, visualize

    flags_ = common.FLAGS
    workdir = common.train_runs({"deterministic_15d": ("fiae/mnist_deterministic", [])},
                                flags_.workdir or "runs/fiae_fig13")["deterministic_15d"]
    _, _, model = training.restore(workdir)
    images = data.arrays(flags_.dataset, "test", **runs.data_options(flags_.set))["image"][:flags_.examples]
    reconstruct = tf.function(lambda x: model.reconstruct(x, tf.constant([flags_.seed, 1])))
    reconstructions = np.concatenate([reconstruct(tf.constant(images[i:i + 500])).numpy()
                                      for i in range(0, len(images), 500)])
    mse = float(((reconstructions - images) ** 2).mean())
    baseline = float(((images - images.mean(axis=0)) ** 2).mean())
    print(f"\n| FIAE, 15-D code, no noise | test reconstruction MSE | mean-image MSE |\n|---|---|---|\n"
          f"| {flags_.dataset}, {int(model.step_counter.numpy())} steps | {mse:.4f} | {baseline:.4f} |")
    common.write(visualize.pairs(images[:32], reconstructions[:32], columns=8),
                 "docs/fiae_fig13_reconstructions.png")


if __name__ == "__main__":
    app.run(main)
