"""InfoGAN (Chen et al. 2016): the FIAE's baseline (Implicit Autoencoders, Section 4.1).

A GAN whose generator input is an incompressible noise z and a latent code c: a categorical c1
(`num_clusters` ways; 0 = none) and continuous codes (`code_size`, uniform on [-1, 1] as in the
paper, or Gaussian for the FIAE toy of Figs. 11-12). A network Q(c | x) gives the factorized
variational posterior: a softmax over c1 and a Gaussian (mean, scale) per continuous code. The
mutual-information lower bound L_I(G, Q) = E[log Q(c | G(z, c))] + H(c) (Eq. 4) joins the GAN value
with weight lambda (Eq. 5): min_{G, Q} max_D V(D, G) - lambda L_I(G, Q).

Q is a network of its own here (the paper shares D's convolutional layers): each phase then owns
its weights, and the discriminator's features are not shaped by the information term.

Phases per minibatch:
  1. discriminator: data = real (1), G(z, c) = fake (0) (Eq. 1);
  2. generator: G and Q minimize the non-saturating generator loss plus lambda times the negative
     log-likelihood of the sampled codes under Q (-L_I up to the constant H(c)).
"""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
import tensorflow as tf

from zoo import configs, layers, losses, optimizers, registry
from zoo.models.base import ZooModel, serving_seed

CONTINUOUS_PRIORS = ("uniform", "gaussian")


@dataclasses.dataclass(frozen=True)
class InfoGANConfig(configs.Config):
    model: str = "infogan"
    architecture: str = "conv"  # "conv" or "mlp" (vector data)
    widths: tuple[int, ...] = (64, 128)  # D and Q: conv filters / MLP units; G mirrors them
    noise_size: int = 62  # incompressible noise z (the paper's MNIST setting)
    num_clusters: int = 10  # categorical code c1; 0 = none
    code_size: int = 2  # continuous codes
    continuous_prior: str = "uniform"  # "uniform" on [-1, 1] (paper) or "gaussian" N(0, 1)
    info_weight: float = 1.0  # lambda of Eq. 5
    output: str = "sigmoid"  # generator output: "sigmoid" (images in [0, 1]) or "linear" (vectors)
    generator_learning_rate: float = 1e-3  # the paper's MNIST rates
    discriminator_learning_rate: float = 2e-4
    beta_1: float = 0.5

    TUNABLE: ClassVar[dict] = {
        **configs.Config.TUNABLE,
        "noise_size": configs.Choice((16, 62, 128)),
        "code_size": configs.IntRange(1, 8),
        "info_weight": configs.FloatRange(0.1, 2.0, log=True),
    }
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ("noise_size", "code_size")

    def validate(self) -> None:
        super().validate()
        if self.num_clusters < 0 or self.code_size < 0 or self.num_clusters + self.code_size == 0:
            raise ValueError("InfoGAN needs a latent code: num_clusters > 0 or code_size > 0")
        configs.check_choice("continuous_prior", self.continuous_prior, CONTINUOUS_PRIORS)
        configs.check_choice("output", self.output, layers.DECODER_OUTPUTS)


@registry.register_family("infogan", InfoGANConfig)
class InfoGAN(ZooModel):
    VALIDATION_METRICS = ("information_error",)

    def __init__(self, config: InfoGANConfig, spec):
        super().__init__(config, spec, {"discriminator": ("discriminator",), "generator": ("generator", "q_network")},
                         ("discriminator_loss", "generator_loss", "information_loss"))
        input_size = config.noise_size + config.num_clusters + config.code_size
        self.generator = layers.image_decoder(input_size, spec.image_shape, config.architecture, config.widths,
                                              name="generator")
        self.discriminator = layers.image_encoder(spec.image_shape, config.architecture, config.widths,
                                                  {"logit": 1}, name="discriminator")
        heads = {}
        if config.num_clusters:
            heads["category_logits"] = config.num_clusters
        if config.code_size:
            heads.update(mean=config.code_size, log_scale=config.code_size)
        self.q_network = layers.image_encoder(spec.image_shape, config.architecture, config.widths, heads,
                                              name="q_network")

    def make_optimizer(self, phase):
        config = self.config
        rate = config.discriminator_learning_rate if phase == "discriminator" else config.generator_learning_rate
        return optimizers.Adam(rate, beta_1=config.beta_1)

    # --- the model ---------------------------------------------------------------------------------
    def latent_code(self, n, seed):
        """(noise z, code c = [one-hot c1, continuous]) drawn from their priors."""
        config = self.config
        seeds = [tf.cast(s, tf.int32) for s in tf.unstack(tf.random.experimental.stateless_split(seed, 3))]
        noise = tf.random.stateless_normal([n, config.noise_size], seeds[0])
        parts = []
        if config.num_clusters:
            categories = tf.random.stateless_uniform([n], seeds[1], maxval=config.num_clusters, dtype=tf.int32)
            parts.append(tf.one_hot(categories, config.num_clusters))
        if config.code_size:
            if config.continuous_prior == "uniform":
                parts.append(tf.random.stateless_uniform([n, config.code_size], seeds[2], minval=-1.0, maxval=1.0))
            else:
                parts.append(tf.random.stateless_normal([n, config.code_size], seeds[2]))
        return noise, tf.concat(parts, axis=-1)

    def generate_given_code(self, noise, code, training=False):
        return layers.decoder_output(self.generator(tf.concat([noise, code], axis=-1), training=training),
                                     self.config.output)

    def sample(self, n, seed):
        noise, code = self.latent_code(n, seed)
        return self.generate_given_code(noise, code)

    def posterior(self, images):
        """Q(c | x): category probabilities and the continuous codes' Gaussian (mean, scale)."""
        heads = self.q_network(tf.convert_to_tensor(images, tf.float32), training=False)
        out = {}
        if self.config.num_clusters:
            out["probabilities"] = tf.nn.softmax(heads["category_logits"])
        if self.config.code_size:
            out.update(mean=heads["mean"], scale=tf.exp(heads["log_scale"]))
        return out

    def classify(self, images, seed=None):
        """Q(c1 | x): the categorical code as clusters."""
        return self.posterior(images)["probabilities"]

    def information_nll(self, code, heads):
        """-log Q(c | x) per example: the categorical cross-entropy plus the Gaussian negative
        log-likelihood of the continuous codes (-L_I + H(c), Eq. 4)."""
        config = self.config
        nll = tf.zeros(tf.shape(code)[:1])
        if config.num_clusters:
            categories = tf.argmax(code[:, :config.num_clusters], axis=-1, output_type=tf.int32)
            nll += tf.nn.sparse_softmax_cross_entropy_with_logits(labels=categories, logits=heads["category_logits"])
        if config.code_size:
            continuous = code[:, config.num_clusters:]
            log_scale = heads["log_scale"]
            per_dim = 0.5 * tf.square((continuous - heads["mean"]) * tf.exp(-log_scale)) + log_scale + \
                0.5 * math.log(2 * math.pi)
            nll += tf.reduce_sum(per_dim, axis=-1)
        return nll

    def call(self, images, training=False):
        return self.discriminator(images, training=training)["logit"]

    # --- the phases --------------------------------------------------------------------------------
    def _latent_slice(self, batch):
        both = self.replica_slice(lambda n: tf.concat(self.latent_code(n, self.seed("infogan/noise")), axis=-1), batch)
        return both[:, :self.config.noise_size], both[:, self.config.noise_size:]

    def discriminator_phase(self, data):
        """D learns data = real (1), generated = fake (0)."""
        images = data["image"]
        noise, code = self._latent_slice(tf.shape(images)[0])
        fake = self.generate_given_code(noise, code, training=True)
        with tf.GradientTape() as tape:
            loss = losses.discriminator_loss(self.discriminator(images, training=True)["logit"],
                                             self.discriminator(fake, training=True)["logit"])
        self.apply_phase("discriminator", tape, loss)
        return {"discriminator_loss": loss}

    def generator_phase(self, data):
        """G and Q: fool D and keep the code recoverable (Eq. 5)."""
        noise, code = self._latent_slice(tf.shape(data["image"])[0])
        with tf.GradientTape() as tape:
            fake = self.generate_given_code(noise, code, training=True)
            gan = losses.generator_loss(self.discriminator(fake, training=True)["logit"])
            information = losses.mean(self.information_nll(code, self.q_network(fake, training=True)))
            loss = gan + self.config.info_weight * information
        self.apply_phase("generator", tape, loss)
        return {"generator_loss": gan, "information_loss": information}

    # --- evaluation, pictures, serving ---------------------------------------------------------------
    def validation_errors(self, images, seed):
        """-log Q(c | G(z, c)) on as many generated samples as images: how recoverable the code is
        (the tuner's objective; data-free, since a GAN has no likelihood of held-out data)."""
        noise, code = self.latent_code(tf.shape(images)[0], seed)
        heads = self.q_network(self.generate_given_code(noise, code), training=False)
        return {"information_error": self.information_nll(code, heads)}

    def category_rows(self, seed, columns: int = 8):
        """Samples with c1 fixed along each row (one row per category), the rest drawn."""
        config = self.config
        rows = max(config.num_clusters, 1)
        noise, code = self.latent_code(rows * columns, seed)
        if config.num_clusters:
            categories = tf.repeat(tf.range(rows), columns)
            code = tf.concat([tf.one_hot(categories, rows), code[:, rows:]], axis=-1)
        return self.generate_given_code(noise, code)

    def pictures(self, images, labels, seed, title):
        from zoo import visualize

        pictures = {"samples": visualize.grid(self.category_rows(seed).numpy(), columns=8)}
        if self.config.num_clusters:
            clusters = np.argmax(self.classify(images).numpy(), axis=1)
            pictures["clusters"] = visualize.cluster_label_heatmap(
                clusters, labels, self.config.num_clusters, f"validation clusters, {title}")
        return pictures

    def serving_specs(self):
        return {"images": tf.TensorSpec([None, *self.spec.image_shape], tf.float32, name="images"),
                "seed": tf.TensorSpec([None], tf.int32, name="seed"),
                "n": tf.TensorSpec([], tf.int32, name="n"),
                "noise": tf.TensorSpec([None, self.config.noise_size], tf.float32, name="noise"),
                "code": tf.TensorSpec([None, self.config.num_clusters + self.config.code_size], tf.float32,
                                      name="code")}

    def endpoints(self):
        endpoints = {
            "sample": (lambda n, seed: {"images": self.sample(n, serving_seed(seed))}, ["n", "seed"]),
            "generate": (lambda noise, code: {"images": self.generate_given_code(noise, code)}, ["noise", "code"]),
            "posterior": (self.posterior, ["images"]),
        }
        if self.config.num_clusters:
            endpoints["classify"] = (lambda images: {"probabilities": self.classify(images)}, ["images"])
        return endpoints


_BASE = InfoGANConfig()
# `python -m zoo.train --model=infogan`: digits, 10-way c1 and 2 continuous codes.
registry.register_preset("infogan/default", dataclasses.replace(
    _BASE, widths=(64,), noise_size=16, steps=3000, image_every=1000))
registry.register_preset("infogan/tiny", configs.tiny(
    _BASE, widths=(4,), noise_size=3, num_clusters=3, code_size=2))
# The paper's MNIST setting: 62-D noise, a 10-way c1, two uniform continuous codes.
registry.register_preset("infogan/mnist", dataclasses.replace(
    _BASE, dataset="mnist", steps=10000, checkpoint_every=1000, image_every=1000))
registry.register_preset("infogan/fashion_mnist_clustering", dataclasses.replace(
    _BASE, dataset="fashion_mnist", steps=3000, checkpoint_every=1000, image_every=1000))
