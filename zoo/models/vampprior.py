"""VampPrior (Tomczak & Welling 2018), a baseline of the learned-prior paper: the VAE with the prior
p(z) = 1/K sum_k q(z | u_k), a mixture of the encoder's own posteriors at K learned pseudo-inputs
u_k (Eq. 9). The pseudo-inputs are images (a free parameter through a sigmoid, so they stay in the
data's [0, 1]) learned with the encoder and decoder in the ELBO phase; the KL term is the one-sample
estimate log q(z | x) - log p(z) (Eq. 10's regularizer).
"""
from __future__ import annotations

import dataclasses
import math

import keras
import tensorflow as tf

from zoo import configs, registry
from zoo.models.vae import VAE, VAEConfig, gaussian_log_density


@dataclasses.dataclass(frozen=True)
class VampPriorConfig(VAEConfig):
    model: str = "vampprior"
    pseudo_inputs: int = 500  # K (the paper's MNIST setting)

    def validate(self) -> None:
        super().validate()
        if self.pseudo_inputs <= 0:
            raise ValueError(f"pseudo_inputs must be positive, got {self.pseudo_inputs}")


class PseudoInputs(keras.layers.Layer):
    """K learned images u_k = sigmoid(w_k)."""

    def __init__(self, count: int, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.logits = self.add_weight(shape=(count, *self.image_shape), name="logits",
                                      initializer=keras.initializers.RandomNormal(stddev=0.01))
        self.built = True  # its one weight exists from the start

    def call(self, inputs=None):
        return tf.sigmoid(self.logits)


@registry.register_family("vampprior", VampPriorConfig)
class VampPrior(VAE):
    def __init__(self, config: VampPriorConfig, spec):
        super().__init__(config, spec)
        # Images in [0, 1], float32 like every input of the encoder.
        self.pseudo_inputs = PseudoInputs(config.pseudo_inputs, spec.image_shape, name="pseudo_inputs",
                                          dtype="float32")

    @classmethod
    def plan(cls, config):
        return {"elbo": ("encoder", "decoder", "pseudo_inputs")}, ("reconstruction_loss", "kl", "negative_elbo")

    def components(self, training=False):
        """(means, log variances) [K, d] of q(z | u_k)."""
        return self.posterior(self.pseudo_inputs(), training=training)

    def prior_log_density(self, z, training=False):
        """log 1/K sum_k N(z; mu_k, sigma_k^2) for z [N, d]."""
        means, log_variances = self.components(training)
        per_component = gaussian_log_density(z[:, None, :], means[None], log_variances[None])  # [N, K]
        return tf.reduce_logsumexp(per_component, axis=1) - math.log(self.config.pseudo_inputs)

    def prior_sample(self, n, seed):
        """A component k uniformly, then z ~ q(z | u_k)."""
        seeds = tf.random.experimental.stateless_split(seed, 2)
        means, log_variances = self.components()
        k = tf.random.stateless_uniform([n], tf.cast(seeds[0], tf.int32), maxval=self.config.pseudo_inputs,
                                        dtype=tf.int32)
        eps = tf.random.stateless_normal([n, self.config.code_size], tf.cast(seeds[1], tf.int32))
        return tf.gather(means, k) + tf.exp(0.5 * tf.gather(log_variances, k)) * eps

    def kl(self, z, mean, log_variance):
        """log q(z | x) - log p(z) at the posterior sample z (one-sample KL estimate)."""
        return gaussian_log_density(z, mean, log_variance) - self.prior_log_density(z, training=True)


_BASE = VampPriorConfig()
registry.register_preset("vampprior/default", dataclasses.replace(
    _BASE, architecture="mlp", widths=(256, 256), pseudo_inputs=100, steps=3000, image_every=1000))
registry.register_preset("vampprior/tiny", configs.tiny(
    _BASE, architecture="mlp", widths=(8,), code_size=2, pseudo_inputs=3))
registry.register_preset("vampprior/fashion_mnist", dataclasses.replace(
    _BASE, dataset="fashion_mnist", steps=3000, checkpoint_every=1000, image_every=1000))
