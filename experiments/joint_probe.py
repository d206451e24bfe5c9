"""What the CycleIAE's reconstruction discriminator D(x, z) (IAE Section 3, Eq. 7) sees, on a trained run.

    python -m experiments.joint_probe --workdir=runs/cycle_fm/cycleiae_seed0
    python -m experiments.joint_probe --workdir=... --generator=decoder --steps=200   # the game, replayed

First, on test images x of domain A with codes z = f(x) and reconstructions x_hat = g(z, n): D's
P(real) and logit spread on positive pairs (x, z), negative pairs (x_hat, z) and shuffled pairs (x', z)
(another image with this code: a D that checks the pairing rates them below the positive ones), and how
much of its own input a reconstruction keeps (|x_hat - x| over |x_hat - x'|; 1 = the input is ignored).

Then, with --steps, the reconstruction GAN replayed from the checkpoint in memory (nothing is saved):
each step one Adam step of D on a training batch, then one generator step of --generator (none /
decoder / encoder / both) at the run's generator rate times --generator_rate_scale, the same batch and
decoder noise. Every --every steps it prints D's loss before its step, after it, and after the
generator's step (ln 4 = 1.386 is chance), and how far the generator's step moved x_hat (mean absolute
pixel change): with --generator=none D trains against a frozen generator, which shows whether D can
separate the pairs at all; with the decoder, whether the decoder undoes D's progress step by step.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from absl import app, flags

from zoo import cli

flags.DEFINE_string("workdir", None, "a trained cycleiae run", required=True)
flags.DEFINE_integer("examples", 128, "test images of domain A probed")
flags.DEFINE_integer("steps", 0, "steps of the replayed game (0: the probe only)")
flags.DEFINE_integer("every", 25, "print the game's means every this many steps")
flags.DEFINE_enum("generator", "decoder", ["none", "decoder", "encoder", "both"], "what the generator step trains")
flags.DEFINE_float("generator_rate_scale", 1.0, "the generator step's Adam rate over the run's")
flags.DEFINE_integer("seed", 0, "seed of the batches and draws")
FLAGS = flags.FLAGS


def probe(model, images, seed: int) -> dict:
    codes = model.translate(images, tf.constant([seed, 1]))
    reconstructions = model.decode(codes, tf.constant([seed, 2]))
    others = tf.roll(images, 1, axis=0)
    result = {}
    for name, first in (("positive", images), ("negative", reconstructions), ("shuffled", others)):
        logits = model.joint_discriminator(tf.concat([first, codes], -1), training=False)
        result[f"p_real_{name}"] = float(tf.reduce_mean(tf.sigmoid(logits)))
        result[f"logit_std_{name}"] = float(tf.math.reduce_std(logits))
    result["own_over_other"] = float(tf.reduce_mean(tf.abs(reconstructions - images))
                                     / tf.reduce_mean(tf.abs(reconstructions - others)))
    return result


def game(model, config, images: np.ndarray):
    """One D step then one generator step per batch; yields each step's losses and x_hat's move."""
    import keras

    from zoo import losses

    discriminator = model.joint_discriminator
    d_optimizer = keras.optimizers.Adam(config.discriminator_learning_rate, beta_1=config.beta_1)
    g_optimizer = keras.optimizers.Adam(config.generator_learning_rate * FLAGS.generator_rate_scale,
                                        beta_1=config.beta_1)
    networks = {"none": [], "decoder": [model.decoder], "encoder": [model.encoder],
                "both": [model.encoder, model.decoder]}[FLAGS.generator]
    g_variables = [v for network in networks for v in network.trainable_variables]
    noise_size = config.decoder_noise_size

    def decode(codes, noise):
        return model._run(model.decoder, codes, noise, training=True)

    def d_loss(x, z, x_hat):
        return losses.discriminator_loss(discriminator(tf.concat([x, z], -1), training=True),
                                         discriminator(tf.concat([x_hat, z], -1), training=True))

    @tf.function
    def step(x, seed):
        noise = tf.random.stateless_normal([tf.shape(x)[0], noise_size], seed) if noise_size else None
        z = model._run(model.encoder, x, None, training=True)
        x_hat = decode(z, noise)
        with tf.GradientTape() as tape:
            before = d_loss(x, z, x_hat)
        d_optimizer.apply_gradients(zip(tape.gradient(before, discriminator.trainable_variables),
                                        discriminator.trainable_variables))
        after_d = d_loss(x, z, x_hat)
        if g_variables:
            with tf.GradientTape() as tape:
                z_g = model._run(model.encoder, x, None, training=True)
                loss = losses.generator_loss(discriminator(tf.concat([decode(z_g, noise), z_g], -1), training=True))
            g_optimizer.apply_gradients(zip(tape.gradient(loss, g_variables), g_variables))
        z_after = model._run(model.encoder, x, None, training=True)
        x_hat_after = decode(z_after, noise)
        return {"d_loss_before": before, "d_loss_after_d_step": after_d,
                "d_loss_after_g_step": d_loss(x, z_after, x_hat_after),
                "x_hat_move": tf.reduce_mean(tf.abs(x_hat_after - x_hat))}

    rng = np.random.default_rng(FLAGS.seed)
    for i in range(1, FLAGS.steps + 1):
        batch = tf.constant(images[rng.integers(0, len(images), config.batch_size)])
        yield i, {k: float(v) for k, v in step(batch, tf.constant([FLAGS.seed, i])).items()}


@cli.report_errors
def main(argv):
    from zoo import data, training

    config, _, model = training.restore(FLAGS.workdir)
    if not hasattr(model, "joint_discriminator") or not model.TWO_DOMAINS:
        raise ValueError(f"{FLAGS.workdir} is not a cycleiae run (model={config.model})")
    where = training.data_options(config)
    test = data.arrays(config.dataset, "test", **where)
    images = tf.constant(test["image"][test["label"] == 0][:FLAGS.examples])
    print(f"{FLAGS.workdir} (step {int(model.step_counter.numpy())}), {len(images)} test images of domain A:")
    for name, value in probe(model, images, FLAGS.seed).items():
        print(f"  {name}: {value:.4f}")
    if not FLAGS.steps:
        return
    train = data.arrays(config.dataset, "train", **where)
    print(f"\nthe game replayed, generator step on: {FLAGS.generator} "
          f"(rate x{FLAGS.generator_rate_scale:g}); means over each {FLAGS.every} steps")
    print("| steps | D loss before its step | after D's step | after the generator's step | x_hat move |")
    print("|---|---|---|---|---|")
    window = []
    for i, values in game(model, config, train["image"][train["label"] == 0]):
        window.append(values)
        if i % FLAGS.every == 0 or i == FLAGS.steps:
            mean = {k: np.mean([w[k] for w in window]) for k in window[0]}
            print(f"| {i - len(window) + 1}-{i} | {mean['d_loss_before']:.4f} | {mean['d_loss_after_d_step']:.4f} | "
                  f"{mean['d_loss_after_g_step']:.4f} | {mean['x_hat_move']:.4f} |", flush=True)
            window = []


if __name__ == "__main__":
    app.run(main)
