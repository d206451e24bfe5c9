"""IAE Fig. 5: a GAN and an IAE on a mixture of 7 Gaussians, with the same decoder.

The GAN's input is a 7-D categorical and a 10-D Gaussian vector (the `infogan` family with the
information term off: a plain GAN with a categorical input); the IAE has a 7-D categorical code
(regularization GAN on the softmax) and a 10-D Gaussian decoder noise. Both generators are the
same MLP. Measured, on samples:
  - code-component agreement: each sample's categorical input / code against the mixture
    component nearest to it, as normalized mutual information and matched accuracy (the best
    one-to-one map of codes to components); for the IAE also its inferred code of data points
    against their true component;
  - the fraction of samples within 3 standard deviations of a mode.
The paper's finding: the GAN's categorical input does not pick components (its noise does), the
IAE's code does.

    python -m experiments.iae_fig5_mog --steps=5000 --seeds=0,1,2 --out=docs/iae_fig5_mog.png

(about 2 minutes per seed and model on 2 CPU cores). Prints a markdown table; the PNG shows both
models' samples coloured by their categorical input / code.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from absl import app, flags

from experiments import runs, toy_runs
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 5000, "training steps per model")
flags.DEFINE_list("seeds", ["0"], "run seeds")
flags.DEFINE_integer("samples", 5000, "samples drawn to measure")
flags.DEFINE_string("out", "docs/iae_fig5_mog.png", "scatter plots of the first seed")

COMPONENTS, NOISE, STD, WIDTHS = 7, 10, 0.05, "(256,256)"


def configs(seed: int, steps: int):
    from zoo import registry

    shared = [f"seed={seed}", f"steps={steps}", "architecture=mlp", f"widths={WIDTHS}", "output=linear",
              "batch_size=100", "log_every=100", "checkpoint_every=1000", "image_every=1000"]
    gan = registry.resolve(preset_name="infogan/default", overrides=shared + [
        f"noise_size={NOISE}", f"num_clusters={COMPONENTS}", "code_size=0", "info_weight=0"])
    iae = registry.resolve(preset_name="iae/default", overrides=shared + [
        f"joint_discriminator_widths={WIDTHS}", f"discriminator_widths={WIDTHS}", "code_size=0",
        f"num_clusters={COMPONENTS}", f"decoder_noise_size={NOISE}", "noise_size=0", "adversarial=true"])
    return {"GAN": gan, "IAE": iae}


def nearest_component(points: np.ndarray, means: np.ndarray):
    """(index of the nearest mode, whether within 3 standard deviations of it) per 2-D point."""
    distances = np.linalg.norm(points.reshape(-1, 1, 2) - means[None], axis=-1)
    return np.argmin(distances, axis=1), np.min(distances, axis=1) < 3 * STD


def agreement(codes: np.ndarray, components: np.ndarray) -> dict:
    """NMI, and the accuracy of the best one-to-one code -> component map (a collapsed code that
    always lands on one component scores 1/7, not 1 as cluster purity would)."""
    from sklearn.metrics import normalized_mutual_info_score

    from zoo import metrics

    return {"nmi": float(normalized_mutual_info_score(components, codes)),
            "matched": 1.0 - metrics.hungarian_error(codes, components, COMPONENTS)}


def generated(model, name: str, n: int, seed: int):
    """(samples [n, 2], the categorical input / code each was drawn from)."""
    draw = tf.constant([seed, 7], tf.int32)
    if name == "GAN":
        noise, code = model.latent_code(n, draw)
        samples = model.generate_given_code(noise, code)
    else:
        seeds = tf.random.experimental.stateless_split(draw, 2)
        code = model.prior_code(n, tf.cast(seeds[0], tf.int32))
        samples = model.decode(code, seed=tf.cast(seeds[1], tf.int32))
    return samples.numpy().reshape(n, 2), np.argmax(code.numpy(), axis=1)


def measure(models: dict, points, labels, means, n: int, seed: int):
    rows, scatter = [], {}
    for name, model in models.items():
        samples, codes = generated(model, name, n, seed)
        component, near = nearest_component(samples, means)
        row = {"model": name, "seed": seed, "within_3_std": float(near.mean()),
               **{f"generated_{k}": v for k, v in agreement(codes, component).items()}}
        if name == "IAE":
            inferred = np.argmax(model.classify(points[:n], tf.constant([seed, 8])).numpy(), axis=1)
            row.update({f"inferred_{k}": v for k, v in agreement(inferred, labels[:n]).items()})
        rows.append(row)
        scatter[name] = (samples, codes)
    return rows, scatter


def plot(points, labels, scatter, path: str) -> None:
    from zoo import visualize

    pictures = {"data, coloured by component": visualize.latent_scatter(points.reshape(-1, 2)[:5000], labels[:5000],
                                                                         "data")}
    for name, (samples, codes) in scatter.items():
        pictures[f"{name} samples, coloured by categorical input"] = visualize.latent_scatter(samples, codes, name)
    visualize.save_png(visualize.panels(pictures, "mixture of 7 Gaussians (IAE Fig. 5)"), path)


def table(rows) -> str:
    keys = ["generated_nmi", "generated_matched", "within_3_std", "inferred_nmi", "inferred_matched"]
    lines = ["| model | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name in ("GAN", "IAE"):
        cells = [runs.mean_std([r[key] for r in rows if r["model"] == name and key in r]) for key in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@cli.report_errors
def main(argv):
    from zoo.data import toys

    rows = []
    for i, seed in enumerate(int(s) for s in FLAGS.seeds):
        points, labels, means = toys.mixture_of_gaussians(50000, seed=seed, components=COMPONENTS, std=STD)
        models = {name: toy_runs.train_on_points(config, points, "mixture_of_gaussians", COMPONENTS)
                  for name, config in configs(seed, FLAGS.steps).items()}
        seed_rows, scatter = measure(models, points, labels, means, FLAGS.samples, seed)
        rows += seed_rows
        if i == 0 and FLAGS.out:
            plot(points, labels, scatter, FLAGS.out)
    print(table(rows))


if __name__ == "__main__":
    app.run(main)
