"""IAE Figs. 11-12: true and variational posteriors of the FIAE and of InfoGAN on four data points.

Data: four 2-D points; prior p(z) = N(0, I) in 2-D; both generators are the same MLP x = g(z). The
generator splits the z plane into four regions, one per data point: the true posterior p(z | x) is
the prior restricted to x's region, which no factorized Gaussian fits. InfoGAN's Q(z | x) is such a
Gaussian; the FIAE's q(z | x) is implicit, z_hat = f(x, eps).

Plotted: the true posterior (prior samples coloured by the data point g(z) lands nearest) and the
variational posterior (draws of q(z | x) for each of the four points, coloured by the point) of
each model. Measured: posterior agreement, the share of draws z_hat ~ q(z | x) that the generator
maps back to x (1.0 when q(z | x) stays inside x's region), and the covariance error, how far the
spread of q(z | x) is from that of the true posterior: ||cov q - cov p|| / ||cov p|| (Frobenius),
averaged over the four points (0 when the spreads match; about 1 for a q far narrower than p).

    python -m experiments.fiae_fig11_posteriors --steps=5000 --seeds=0,1,2 --out=docs/fiae_fig11_posteriors.png

(a few minutes per seed and model on 2 CPU cores).
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
flags.DEFINE_integer("draws", 2000, "posterior draws per data point")
flags.DEFINE_string("out", "docs/fiae_fig11_posteriors.png", "posterior plots of the first seed")

WIDTHS, EPS = "(128,128)", 8


def configs(seed: int, steps: int):
    from zoo import registry

    shared = [f"seed={seed}", f"steps={steps}", "architecture=mlp", f"widths={WIDTHS}", "output=linear",
              "batch_size=100", "log_every=100", "checkpoint_every=1000", "image_every=1000", "code_size=2"]
    infogan = registry.resolve(preset_name="infogan/default", overrides=shared + [
        "noise_size=0", "num_clusters=0", "continuous_prior=gaussian"])
    fiae = registry.resolve(preset_name="fiae/default", overrides=shared + [
        f"joint_discriminator_widths={WIDTHS}", f"discriminator_widths={WIDTHS}", "decoder_noise_size=0",
        f"noise_size={EPS}", "adversarial=true"])
    return {"InfoGAN": infogan, "FIAE": fiae}


def generate(model, name, z):
    if name == "InfoGAN":
        return model.generate_given_code(tf.zeros([len(z), 0]), z).numpy().reshape(-1, 2)
    return model.decode(z).numpy().reshape(-1, 2)


def posterior_draws(model, name, corners, draws: int, seed: int):
    """z_hat ~ q(z | x) for each corner x: [4 * draws, 2] and the corner index of each draw."""
    images = np.repeat(corners, draws, axis=0).reshape(-1, 1, 1, 2)
    if name == "InfoGAN":
        posterior = model.posterior(images)
        noise = tf.random.stateless_normal(posterior["mean"].shape, [seed, 3])
        z = (posterior["mean"] + posterior["scale"] * noise).numpy()
    else:
        z = model.infer(images, tf.constant([seed, 3])).numpy()
    return z, np.repeat(np.arange(4), draws)


def nearest(points, corners):
    return np.argmin(np.linalg.norm(points[:, None] - corners[None], axis=-1), axis=1)


@cli.report_errors
def main(argv):
    from zoo import visualize
    from zoo.data import toys

    rows = []
    for i, seed in enumerate(int(s) for s in FLAGS.seeds):
        points, _, corners = toys.four_points(20000, seed=seed)
        pictures = {}
        for name, config in configs(seed, FLAGS.steps).items():
            model = toy_runs.train_on_points(config, points, "four_points", 4)
            prior = tf.random.stateless_normal([4 * FLAGS.draws, 2], [seed, 2]).numpy()
            owner = nearest(generate(model, name, prior), corners)
            z_hat, corner = posterior_draws(model, name, corners, FLAGS.draws, seed)
            agreement = float((nearest(generate(model, name, z_hat), corners) == corner).mean())
            covariance_error = np.mean([
                np.linalg.norm(np.cov(z_hat[corner == k].T) - np.cov(prior[owner == k].T)) /
                np.linalg.norm(np.cov(prior[owner == k].T)) for k in range(4) if (owner == k).sum() > 2])
            rows.append({"model": name, "seed": seed, "posterior_agreement": agreement,
                         "covariance_error": float(covariance_error)})
            pictures[f"{name}: true posterior p(z|x)"] = visualize.latent_scatter(prior, owner, "true")
            pictures[f"{name}: variational q(z|x)"] = visualize.latent_scatter(z_hat, corner, "variational")
        if i == 0 and FLAGS.out:
            visualize.save_png(visualize.panels(pictures, "four data points, 2-D Gaussian prior (IAE Figs. 11-12)",
                                                columns=2), FLAGS.out)
    print("| model | posterior agreement | covariance error | seeds |\n|---|---|---|---|")
    for name in ("InfoGAN", "FIAE"):
        mine = [r for r in rows if r["model"] == name]
        cells = [runs.mean_std([r[key] for r in mine]) for key in ("posterior_agreement", "covariance_error")]
        print(f"| {name} | {' | '.join(cells)} | {len(mine)} |")


if __name__ == "__main__":
    app.run(main)
