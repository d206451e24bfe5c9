"""The one place losses are reduced and scaled per replica.

Every loss here is a mean over the replica's local batch. Under `tf.distribute` the optimizers sum
gradients across replicas, so the value differentiated must be the local mean divided by the number
of replicas (`for_gradient`); the unscaled mean is what metrics report. Keras scales only its own
`keras.losses` objects this way, which is why every hand-written term goes through here.
"""
from __future__ import annotations

import tensorflow as tf


def num_replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def for_gradient(loss: tf.Tensor) -> tf.Tensor:
    """Local-batch mean -> the share whose cross-replica gradient sum is the global-batch gradient."""
    return loss / num_replicas()


def mean(per_example: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.cast(per_example, tf.float32))


def r1_penalty(slope: tf.Tensor, gamma: float) -> tf.Tensor:
    """Mescheder et al. 2018's R1 term gamma / 2 * |dD/dx|^2 (mean over examples), from D's gradient at
    real inputs; the discriminator's loss adds it."""
    return 0.5 * gamma * mean(tf.reduce_sum(tf.square(slope), axis=tf.range(1, tf.rank(slope))))


def sigmoid_cross_entropy(labels, logits) -> tf.Tensor:
    return mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.broadcast_to(labels, tf.shape(logits)),
                                                        logits=logits))


def bernoulli_reconstruction(images, logits) -> tf.Tensor:
    """-log p(x | z) per image for pixel intensities in [0, 1] (cross-entropy summed over pixels)."""
    per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
    return mean(tf.reduce_sum(per_pixel, axis=[1, 2, 3]))


def squared_reconstruction(images, logits) -> tf.Tensor:
    """Squared Euclidean error summed over pixels, on sigmoid outputs."""
    return mean(tf.reduce_sum(tf.square(images - tf.sigmoid(logits)), axis=[1, 2, 3]))


RECONSTRUCTION = {"bce": bernoulli_reconstruction, "mse": squared_reconstruction}


def discriminator_loss(real_logits, fake_logits) -> tf.Tensor:
    """GAN discriminator loss (Goodfellow et al. 2014, Eq. 1): samples of the target distribution are
    labelled 1 (real), generated ones 0 (fake)."""
    return sigmoid_cross_entropy(1.0, real_logits) + sigmoid_cross_entropy(0.0, fake_logits)


def generator_loss(fake_logits) -> tf.Tensor:
    """Non-saturating generator loss (Goodfellow et al. 2014, Section 3): -log D(G(.)), i.e. the
    generated samples are pushed toward the real label."""
    return sigmoid_cross_entropy(1.0, fake_logits)


def softmax_cross_entropy(labels, logits) -> tf.Tensor:
    return mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits))
