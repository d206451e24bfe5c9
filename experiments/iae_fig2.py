"""IAE Fig. 2 and the decomposition claim (Section 2.1): what the code keeps and what the decoder
noise takes.

Four IAEs with the regularization GAN: a deterministic one with a 20-D code, and stochastic decoders
with a 100-D noise and 20-D, 10-D and 5-D codes. For each, on test images:
  (a) label kept: the share of stochastic reconstructions that a classifier trained on real
      training images gives the label of their input (the classifier's own test accuracy is the
      ceiling) -- the high-level information the code carries;
  (b) diversity: the mean squared difference per pixel between two reconstructions of the same
      input under different noise draws (0 for the deterministic decoder) -- the low-level
      information left to the noise.
The PNG shows, for each model, test inputs (first column) and reconstructions under 7 noise draws.

    python -m experiments.iae_fig2 --workdir=runs/iae_fig2 --out=docs/iae_fig2_reconstructions.png

(each run uses its preset's budget unless --steps is given; --dataset=mnist for the paper's data).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from absl import app, flags

from experiments import common, runs
from zoo import classifier as zoo_classifier
from zoo import cli

flags.DEFINE_integer("examples", 1000, "test images measured")
flags.DEFINE_integer("classifier_epochs", 3, "epochs of the real-data classifier (zoo.classifier)")

RUNS = {
    "deterministic, 20-D code": ("iae/mnist_deterministic", ["adversarial=true"]),
    "20-D code + 100-D noise": ("iae/mnist_stochastic", []),
    "10-D code + 100-D noise": ("iae/mnist_stochastic", ["code_size=10"]),
    "5-D code + 100-D noise": ("iae/mnist_stochastic", ["code_size=5"]),
}
DRAWS = 7


def measure(model, classifier, images, labels, seed: int) -> dict:
    first = model.reconstruct(images, tf.constant([seed, 1])).numpy()
    second = model.reconstruct(images, tf.constant([seed, 2])).numpy()
    predicted = np.argmax(classifier.predict(first, verbose=0), axis=1)
    return {"label_kept": float((predicted == labels).mean()),
            "diversity": float(((first - second) ** 2).mean())}


@cli.report_errors
def main(argv):
    from zoo import data, training, visualize

    flags_ = common.FLAGS
    workdirs = common.train_runs(RUNS, flags_.workdir or "runs/iae_fig2")
    where = runs.data_options(flags_.set)
    test = data.arrays(flags_.dataset, "test", **where)
    images, labels = test["image"][:flags_.examples], test["label"][:flags_.examples]
    classifier, info = zoo_classifier.load_or_train(flags_.dataset, flags_.classifier_epochs, flags_.seed, **where)
    print(f"\nlabels by {zoo_classifier.describe(info)}\n")
    print("| model | label kept by reconstructions | diversity (MSE between two draws) |\n|---|---|---|")
    panels = {}
    for name, workdir in workdirs.items():
        _, _, model = training.restore(workdir)
        result = measure(model, classifier, images, labels, flags_.seed)
        print(f"| {name} | {result['label_kept']:.4f} | {result['diversity']:.4f} |", flush=True)
        rows = [images[:8]] + [model.reconstruct(images[:8], tf.constant([flags_.seed, 10 + k])).numpy()
                               for k in range(DRAWS)]
        panels[name] = visualize.grid(np.stack(rows, axis=1).reshape(-1, *images.shape[1:]), columns=DRAWS + 1)
    common.write(visualize.panels(panels, "IAE Fig. 2: input, then reconstructions under 7 noise draws"),
                 "docs/iae_fig2_reconstructions.png")


if __name__ == "__main__":
    app.run(main)
