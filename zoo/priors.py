"""Priors p(z) as components exposing a `tfp.distributions.Distribution` (never tfp.layers).

Sampling is stateless: `sample(n, seed)` takes an int32 seed tensor of shape [2], so a model draws
its prior samples from seeds derived from its step counter (reproducible, resumable, identical on
every replica; see `zoo.models.base`).
"""
from __future__ import annotations

import math

import tensorflow as tf
import tensorflow_probability as tfp

from zoo import configs

tfd = tfp.distributions


class Prior:
    """A distribution over codes of size `dim` (event shape [dim], float32)."""

    def __init__(self, distribution: tfd.Distribution, dim: int):
        self.distribution = distribution
        self.dim = dim

    def sample(self, n, seed) -> tf.Tensor:
        return tf.cast(self.distribution.sample(n, seed=seed), tf.float32)

    def log_prob(self, z) -> tf.Tensor:
        return self.distribution.log_prob(z)


def gaussian(dim: int, scale: float = 1.0) -> Prior:
    """Isotropic Gaussian N(0, scale^2 I) (AAE Section 2; the 2-D case is the one plotted)."""
    loc = tf.zeros([dim])
    return Prior(tfd.MultivariateNormalDiag(loc=loc, scale_diag=tf.fill([dim], float(scale))), dim)


def categorical(k: int) -> Prior:
    """One-hot categorical with k equiprobable classes (AAE Section 6: the cluster-head prior)."""
    return Prior(tfd.OneHotCategorical(logits=tf.zeros([k]), dtype=tf.float32), k)


def gaussian_mixture(dim: int, k: int, radius: float = 4.0, scale: float = 0.5) -> Prior:
    """k equally weighted Gaussians whose means lie on a circle of `radius` in the first two
    dimensions (AAE Section 2, Fig. 2: the 10-component 2-D mixture); other dimensions are N(0, scale^2)."""
    if dim < 2:
        raise ValueError(f"a mixture prior needs code_size >= 2, got {dim}")
    angles = [2 * math.pi * i / k for i in range(k)]
    means = [[radius * math.cos(a), radius * math.sin(a)] + [0.0] * (dim - 2) for a in angles]
    components = tfd.MultivariateNormalDiag(loc=tf.constant(means), scale_diag=tf.fill([k, dim], float(scale)))
    mixture = tfd.MixtureSameFamily(tfd.Categorical(logits=tf.zeros([k])), components)
    return Prior(mixture, dim)


def make(kind: str, dim: int, components: int = 10) -> Prior:
    """The prior named in a config: 'gaussian' or 'mixture'."""
    configs.check_choice("prior", kind, ("gaussian", "mixture"), "known priors")
    return gaussian(dim) if kind == "gaussian" else gaussian_mixture(dim, components)
