"""How a categorical code evolves while a model trains: the statistics to watch when its clusters
drift or collapse, every `--every` steps of one run.

    python -m experiments.code_trace --preset=iae/mnist_clustering --steps=1500 --every=250 \\
        --workdir=runs/trace_iae --set=source_dir=../shared/data/mnist
    python -m experiments.code_trace --preset=iae/mnist_clustering --steps=1500 --every=250 \\
        --workdir=runs/trace_iae_held --set=source_dir=../shared/data/mnist --set=shared_input_gradient=false

The run trains in chunks (an ordinary, resumable zoo run in --workdir); after each chunk, on
--examples test images (batches of 100, the networks in training mode as a train step runs them):
- clustering error (the PixelGAN protocol, labels from the validation split), clusters used, the
  mean top probability of q(y | x) and the entropy of the mean code (ln K: every cluster used);
- the code discriminator's P(real) on the codes, on the prior's one-hots and on the one-hots of the
  codes' argmax (does it object to the codes' softness or to their usage?);
- for the implicit autoencoders, D(x, z)'s P(real) on positive pairs (x, z_hat), negative pairs
  (x_hat, z_hat) and shuffled pairs (x, z_hat of another image): has D learned the pairing?
- the gradient each GAN's generator loss sends to the code logits: its norm per example and the mean
  cosine between two examples' gradients (near 1: every code is pushed the same way, the signature
  of a drift of all codes toward one corner; near 0: each code is pushed its own way).

Prints a markdown table, writes <workdir>/trace.jsonl (one line per reading as it is taken: a trace
run again with a larger --steps resumes the run and keeps its readings) and <workdir>/trace.png.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", "iae/mnist_clustering", "a preset with a categorical code (num_clusters > 0)")
flags.DEFINE_integer("steps", 1500, "training steps in all")
flags.DEFINE_integer("every", 250, "steps between two readings")
flags.DEFINE_integer("examples", 1000, "test images per reading")
flags.DEFINE_integer("seed", 0, "run seed")
flags.DEFINE_string("workdir", "", "the run's directory (default runs/trace_<preset>)")
flags.DEFINE_multi_string("set", [], "config overrides of the run")

BATCH = 100
COLUMNS = ("step", "clustering_error", "clusters_used", "top_probability", "usage_entropy", "d_code_codes",
           "d_code_prior", "d_code_argmax", "d_joint_positive", "d_joint_negative", "d_joint_shuffled",
           "code_gan_grad_norm", "code_gan_grad_cosine", "joint_gan_grad_norm", "joint_gan_grad_cosine")


def _mean_pairwise_cosine(gradients: tf.Tensor) -> float:
    """Mean cosine over pairs of distinct rows: (|sum of unit rows|^2 - n) / (n (n - 1))."""
    units = tf.math.l2_normalize(tf.cast(gradients, tf.float32), axis=1)
    n = float(units.shape[0])
    return float((tf.reduce_sum(tf.reduce_sum(units, axis=0) ** 2) - n) / (n * (n - 1)))


def _probe_batch(model, config, images) -> dict:
    """The discriminators' outputs and the generator gradients on the code logits for one batch."""
    from zoo import losses

    out = {}
    with tf.GradientTape(persistent=True) as tape:
        heads = model._encode_train(images, "trace/code")
        logits = heads["y_logits"]
        code = heads["code"]
        if hasattr(model, "y_discriminator"):
            code_logit = model.y_discriminator(code, training=True)
            code_loss = losses.generator_loss(code_logit) * BATCH  # summed: per-example gradients
        if hasattr(model, "joint_discriminator"):
            noise = None
            if config.decoder_noise_size:
                noise = model.decoder_noise(tf.shape(images)[0], model.seed("trace/noise"))
            reconstruction = model._generate(code, noise, training=True)
            condition = code if config.shared_input_gradient else tf.stop_gradient(code)
            negative = model.joint_discriminator([reconstruction, condition], training=True)
            joint_loss = losses.generator_loss(negative) * BATCH
    if hasattr(model, "y_discriminator"):
        prior = model.y_prior.sample(BATCH, tf.constant([config.seed, 7], tf.int32))
        argmax = tf.one_hot(tf.argmax(code, axis=1), config.num_clusters)
        out.update(d_code_codes=tf.sigmoid(code_logit),
                   d_code_prior=tf.sigmoid(model.y_discriminator(prior, training=True)),
                   d_code_argmax=tf.sigmoid(model.y_discriminator(argmax, training=True)))
        gradient = tape.gradient(code_loss, logits)
        out.update(code_gan_grad_norm=tf.norm(gradient, axis=1), code_gan_grad_cosine=_mean_pairwise_cosine(gradient))
    if hasattr(model, "joint_discriminator"):
        shuffled = tf.roll(code, shift=1, axis=0)
        out.update(d_joint_positive=tf.sigmoid(model.joint_discriminator([images, code], training=True)),
                   d_joint_negative=tf.sigmoid(negative),
                   d_joint_shuffled=tf.sigmoid(model.joint_discriminator([images, shuffled], training=True)))
        gradient = tape.gradient(joint_loss, logits)
        out.update(joint_gan_grad_norm=tf.norm(gradient, axis=1),
                   joint_gan_grad_cosine=_mean_pairwise_cosine(gradient))
    return {key: float(np.mean(value)) for key, value in out.items()}


def reading(workdir: str, examples: int) -> dict:
    """The statistics of the latest checkpoint in `workdir` (a freshly restored model, discarded
    after: the training-mode calls would move its batch-norm statistics)."""
    from zoo import data, evaluation, metrics, training

    config, _, model = training.restore(workdir)
    options = training.data_options(config)
    test, validation = data.arrays(config.dataset, "test", **options), data.arrays(config.dataset, "validation",
                                                                                   **options)
    seed = tf.constant([config.seed, 1], tf.int32)
    classify = tf.function(lambda x: model.classify(x, seed))
    test_probs = evaluation._batched(classify, test["image"][:examples], BATCH)
    validation_probs = evaluation._batched(classify, validation["image"], BATCH)
    usage = test_probs.mean(axis=0)
    result = {"step": int(model.step_counter.numpy()),
              "clustering_error": metrics.cluster_error_by_validation(
                  validation_probs, validation["label"], test_probs, test["label"][:examples]),
              "clusters_used": metrics.clusters_used(test_probs),
              "top_probability": float(test_probs.max(axis=1).mean()),
              "usage_entropy": float(-(usage * np.log(np.maximum(usage, 1e-12))).sum())}
    probes = [_probe_batch(model, config, tf.constant(test["image"][i:i + BATCH]))
              for i in range(0, examples - BATCH + 1, BATCH)]
    result.update({key: float(np.mean([p[key] for p in probes])) for key in probes[0]})
    return result


def plot(rows: list[dict], k: int, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    usage = {"clusters used / K": lambda r: r["clusters_used"] / k,  # on [0, 1], beside the top probability
             "usage entropy / ln K": lambda r: r["usage_entropy"] / np.log(k)}
    rows = [{**r, **{name: f(r) for name, f in usage.items()}} for r in rows]
    panels = (("clustering error", ("clustering_error",)),
              ("code statistics", ("top_probability", "clusters used / K", "usage entropy / ln K")),
              ("P(real)", ("d_code_codes", "d_code_prior", "d_code_argmax", "d_joint_positive", "d_joint_negative",
                           "d_joint_shuffled")),
              ("gradient cosine across examples", ("code_gan_grad_cosine", "joint_gan_grad_cosine")))
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for axis, (name, keys) in zip(axes, panels):
        for key in keys:
            if key in rows[0]:
                axis.plot(steps, [r[key] for r in rows], marker="o", label=key)
        axis.set_title(name)
        axis.set_xlabel("step")
        axis.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


@cli.report_errors
def main(argv):
    from experiments import runs
    from zoo import registry

    if FLAGS.every <= 0 or FLAGS.steps % FLAGS.every:
        raise ValueError(f"--steps ({FLAGS.steps}) must be a positive multiple of --every ({FLAGS.every})")
    if FLAGS.examples < BATCH or FLAGS.examples % BATCH:
        raise ValueError(f"--examples must be a positive multiple of {BATCH}, got {FLAGS.examples}")
    workdir = FLAGS.workdir or os.path.join("runs", "trace_" + FLAGS.preset.replace("/", "_"))
    preset = registry.resolve(preset_name=FLAGS.preset, overrides=FLAGS.set)
    if not getattr(preset, "num_clusters", 0):
        raise ValueError(f"{FLAGS.preset} has no categorical code (num_clusters=0)")
    chunking = [f"checkpoint_every={FLAGS.every}", f"log_every={math.gcd(FLAGS.every, preset.log_every)}"]
    path = os.path.join(workdir, "trace.jsonl")
    rows = []
    if os.path.exists(path):  # a resumed trace keeps its readings
        with open(path) as f:
            rows = [json.loads(line) for line in f]
    read = {r["step"] for r in rows}
    for step in range(FLAGS.every, FLAGS.steps + 1, FLAGS.every):
        if step in read:
            continue
        latest = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
        if latest and int(latest.rsplit("-", 1)[1]) > step:
            print(f"no reading at step {step}: the run in {workdir} is past it", flush=True)
            continue
        config = registry.resolve(preset_name=FLAGS.preset, seed=FLAGS.seed, steps=step,
                                  overrides=[*FLAGS.set, *chunking])
        runs.timed_run(config, workdir)
        rows.append(reading(workdir, FLAGS.examples))
        with open(path, "a") as f:
            f.write(json.dumps(rows[-1]) + "\n")
        print(" ".join(f"{key}={value:.4g}" for key, value in rows[-1].items()), flush=True)
    rows.sort(key=lambda r: r["step"])
    columns = [c for c in COLUMNS if c in rows[0]]
    print("| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|")
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.4g}" for c in columns) + " |")
    plot(rows, preset.num_clusters, os.path.join(workdir, "trace.png"), f"{FLAGS.preset} {' '.join(FLAGS.set)}")


if __name__ == "__main__":
    app.run(main)
