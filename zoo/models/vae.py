"""Variational autoencoder (Kingma & Welling 2014), a baseline of the learned-prior paper (Wang et al.
2020, Table 1) on the same autoencoder as the AAE (`layers.image_encoder` / `image_decoder`).

One phase per minibatch, "elbo": encoder and decoder minimize the negative evidence lower bound
(Eq. 3 of Kingma & Welling), -log p(x | z) with z = mu + sigma * eps (the reparameterization trick,
one sample) plus kl_weight * KL(q(z | x) || p(z)). The KL term is analytic against the standard
Gaussian prior; families with other priors (`vampprior`) override `kl` with a one-sample estimate
log q(z | x) - log p(z).
"""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import tensorflow as tf

from zoo import configs, layers, losses, optimizers, registry
from zoo.models.base import ZooModel


@dataclasses.dataclass(frozen=True)
class VAEConfig(configs.Config):
    model: str = "vae"
    architecture: str = "conv"  # the AAE's "mlp" or "conv" autoencoder
    widths: tuple[int, ...] = (64, 128)
    code_size: int = 8
    reconstruction_loss: str = "bce"  # -log p(x | z): "bce" (Bernoulli) or "mse"
    kl_weight: float = 1.0  # 1 = the ELBO
    learning_rate: float = 1e-3

    TUNABLE: ClassVar[dict] = {
        **configs.Config.TUNABLE,
        "code_size": configs.IntRange(2, 128, log=True),
        "learning_rate": configs.FloatRange(1e-4, 1e-2, log=True),
    }
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ("code_size",)

    def validate(self) -> None:
        super().validate()
        if self.code_size <= 0:
            raise ValueError(f"code_size must be positive, got {self.code_size}")
        configs.check_choice("reconstruction_loss", self.reconstruction_loss, losses.RECONSTRUCTION)
        if self.kl_weight < 0:
            raise ValueError(f"kl_weight must be >= 0, got {self.kl_weight}")


def gaussian_log_density(z, mean, log_variance):
    """log N(z; mean, diag(exp(log_variance))), summed over the last axis."""
    return -0.5 * tf.reduce_sum(math.log(2 * math.pi) + log_variance + tf.square(z - mean) * tf.exp(-log_variance),
                                axis=-1)


@registry.register_family("vae", VAEConfig)
class VAE(ZooModel):
    def __init__(self, config: VAEConfig, spec):
        super().__init__(config, spec, *self.plan(config))
        d = config.code_size
        self.encoder = layers.image_encoder(spec.image_shape, config.architecture, config.widths,
                                            {"mean": d, "log_variance": d})
        self.decoder = layers.image_decoder(d, spec.image_shape, config.architecture, config.widths)

    @classmethod
    def plan(cls, config):
        return {"elbo": ("encoder", "decoder")}, ("reconstruction_loss", "kl", "negative_elbo")

    def make_optimizer(self, phase):
        return optimizers.Adam(self.config.learning_rate)

    # --- the model ---------------------------------------------------------------------------------
    def posterior(self, images, training=False):
        heads = self.encoder(tf.convert_to_tensor(images, tf.float32), training=training)
        return heads["mean"], heads["log_variance"]

    def encode(self, images, seed):
        """The posterior mean as the code (and the posterior's parameters)."""
        mean, log_variance = self.posterior(images)
        return {"code": mean, "mean": mean, "log_variance": log_variance}

    def decode(self, code):
        return tf.sigmoid(self.decoder(tf.convert_to_tensor(code, tf.float32), training=False))

    def prior_sample(self, n, seed):
        return tf.random.stateless_normal([n, self.config.code_size], seed)

    def prior_log_density(self, z):
        return gaussian_log_density(z, tf.zeros_like(z), tf.zeros_like(z))

    def sample(self, n, seed):
        return self.decode(self.prior_sample(n, seed))

    def call(self, images, training=False):
        return self.reconstruct(images, tf.constant([0, 0], tf.int32))

    def kl(self, z, mean, log_variance):
        """KL(q(z | x) || N(0, I)) per example, analytic."""
        return 0.5 * tf.reduce_sum(tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance, axis=-1)

    # --- the phase ---------------------------------------------------------------------------------
    def elbo_phase(self, data):
        images = data["image"]
        with tf.GradientTape() as tape:
            mean, log_variance = self.posterior(images, training=True)
            eps = self.replica_slice(lambda n: tf.random.stateless_normal(
                [n, self.config.code_size], self.seed("vae/posterior_noise")), tf.shape(images)[0])
            z = mean + tf.exp(0.5 * log_variance) * eps
            reconstruction = losses.RECONSTRUCTION[self.config.reconstruction_loss](
                images, self.decoder(z, training=True))
            kl = losses.mean(self.kl(z, mean, log_variance))
            loss = reconstruction + self.config.kl_weight * kl
        self.apply_phase("elbo", tape, loss)
        return {"reconstruction_loss": reconstruction, "kl": kl, "negative_elbo": reconstruction + kl}


_BASE = VAEConfig()
registry.register_preset("vae/default", dataclasses.replace(_BASE, architecture="mlp", widths=(256, 256),
                                                           steps=3000, image_every=1000))
registry.register_preset("vae/tiny", configs.tiny(_BASE, architecture="mlp", widths=(8,), code_size=2))
registry.register_preset("vae/fashion_mnist", dataclasses.replace(
    _BASE, dataset="fashion_mnist", steps=3000, checkpoint_every=1000, image_every=1000))
