"""Implicit autoencoders (Makhzani 2018, Sections 2 and 2.1).

Both halves are implicit: the encoder z_hat = f(x, eps) (eps: `noise_size`, 0 = deterministic) and
the decoder x_hat = g(z_hat, n) (n: `decoder_noise_size`, 0 = deterministic). Two GANs replace the
autoencoder's likelihood and the AAE's KL term (Eq. 7):
  - the reconstruction GAN matches the joint of data and codes q(x, z_hat) (positive pairs
    (x, z_hat)) with the reconstruction joint r(x, z_hat) (negative pairs (x_hat, z_hat)): the
    discriminator D(x, z) sees the code as an adaptive bias (`layers.joint_discriminator`);
  - the regularization GAN matches the aggregated posterior q(z) with the prior p(z), updating the
    encoder only (the AAE's code GAN).
The four cases of Section 2 are `decoder_noise_size` = 0 / > 0 (deterministic / stochastic
decoder) x `adversarial` = False / True (without / with the regularization GAN). With a stochastic
decoder the code keeps the global, high-level information and the noise the rest (Fig. 2).

A categorical code (`num_clusters`, softmax probabilities as the code, the regularization GAN on
them) clusters; with `num_labels` a semi-supervised phase adds cross-entropy on labeled minibatches.

Phases per minibatch, in order:
  1. reconstruction_discriminator: D(x, z) learns positive = 1, negative = 0 (Eq. 7's reconstruction
     term, estimated by the GAN);
  2. reconstruction_generator: encoder and decoder make negatives look positive. Only the negative
     example is back-propagated (Appendix B.1): the positive pair does not enter this loss, and the
     encoder learns through the decoder, x_hat = g(z_hat, n) (D's code input is held fixed: the
     same z_hat is in the positive pair);
  3. discriminator / generator: the regularization GAN (Eq. 7's KL(q(z) || p(z))), as in the AAE;
  4. classifier, with labels.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import tensorflow as tf

from zoo import configs, layers, losses, optimizers, registry
from zoo.models.aae import AAE, AutoencoderConfig, Optimized
from zoo.models.base import serving_seed


@dataclasses.dataclass(frozen=True)
class ImplicitConfig(AutoencoderConfig):
    """What the IAE and FIAE share: the AAE's encoder (`widths`, `noise_size` = eps), code and
    regularization-GAN fields, plus the decoder noise and the reconstruction GAN's joint
    discriminator."""

    architecture: str = "conv"
    widths: tuple[int, ...] = (64, 128)
    code_size: int = 20
    decoder_noise_size: int = 0  # n of x_hat = g(z_hat, n); 0 = deterministic decoder
    joint_discriminator_widths: tuple[int, ...] = (64, 128)  # conv filters (MLP units for vectors) of D(x, z)
    joint_conditioning: str = "location_dependent"  # or "location_invariant"
    joint_hidden: int = 1000  # ReLU units of the location-dependent bias network
    # D(x, z)'s own network when it differs from the encoder's ("" = `architecture`): Appendix B Table 1
    # pairs MLP encoders / decoders on MNIST with a convolutional D(x, z).
    joint_architecture: str = ""
    joint_dense: int = 0  # a fully connected ReLU layer before D(x, z)'s logit (Table 1: 1024); 0 = none
    joint_batch_norm: bool = False  # batch norm after D(x, z)'s hidden layers (Table 1)
    # R1 penalty (Mescheder et al. 2018), gamma / 2 * |dD/dx|^2 at positive pairs: not in the paper;
    # without it the deterministic IAE's reconstructions collapse onto one image (docs/iae.md).
    joint_r1: float = 0.1
    # The negative pair's element that the positive pair shares (the IAE's z_hat, the FIAE's x) is
    # held fixed in D's input. True differentiates it too, a literal reading of Appendix B.1: the
    # IAE's code then grows without bound (docs/iae.md and experiments/iae_ablation).
    shared_input_gradient: bool = False
    output: str = "sigmoid"  # decoder output: "sigmoid" (images in [0, 1]) or "linear" (vectors)

    TUNABLE: ClassVar[dict] = {
        **AutoencoderConfig.TUNABLE,
        "decoder_noise_size": configs.Choice((0, 10, 100)),
        "joint_conditioning": configs.Choice(layers.JOINT_CONDITIONING),
    }
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ("code_size", "decoder_noise_size")

    def validate(self) -> None:
        super().validate()
        if self.decoder_noise_size < 0:
            raise ValueError(f"decoder_noise_size must be >= 0, got {self.decoder_noise_size}")
        configs.check_choice("joint_conditioning", self.joint_conditioning, layers.JOINT_CONDITIONING)
        if self.joint_architecture:
            configs.check_choice("joint_architecture", self.joint_architecture, layers.ARCHITECTURES)
        if self.joint_dense < 0:
            raise ValueError(f"joint_dense must be >= 0 (0 = none), got {self.joint_dense}")
        configs.check_choice("output", self.output, layers.DECODER_OUTPUTS)


@dataclasses.dataclass(frozen=True)
class IAEConfig(configs.SemiSupervised, Optimized, ImplicitConfig):
    model: str = "iae"
    learning_rate: float = 2e-4  # the semi-supervised phase; the GAN phases use the adversarial rates

    TUNABLE: ClassVar[dict] = {**ImplicitConfig.TUNABLE, **Optimized.TUNABLE}



@registry.register_family("iae", IAEConfig)
class IAE(AAE):
    def __init__(self, config: IAEConfig, spec):
        super().__init__(config, spec)
        self.joint_discriminator = layers.joint_discriminator(
            spec.image_shape, self.code_dim, config.joint_architecture or config.architecture,
            config.joint_discriminator_widths, config.joint_conditioning, config.joint_hidden,
            dense=config.joint_dense, batch_norm=config.joint_batch_norm)

    @classmethod
    def plan(cls, config):
        phases, metric_names = cls.regularization_plan(config)
        return ({"reconstruction_discriminator": ("joint_discriminator",),
                 "reconstruction_generator": ("encoder", "decoder"), **phases},
                ("reconstruction_discriminator_loss", "reconstruction_generator_loss") + metric_names)

    @property
    def code_dim(self) -> int:
        return self.config.code_size + self.config.num_clusters

    def make_decoder(self):
        """x_hat = g(z_hat, n): the code and the noise concatenated into the AAE's decoder."""
        config = self.config
        return layers.image_decoder(self.code_dim + config.decoder_noise_size, self.spec.image_shape,
                                    config.architecture, config.widths, batch_norm=config.batch_norm)

    def make_optimizer(self, phase):
        config = self.config
        if phase == "reconstruction_discriminator":
            return optimizers.Adam(config.discriminator_learning_rate, beta_1=config.beta_1)
        if phase == "reconstruction_generator":
            return optimizers.Adam(config.generator_learning_rate, beta_1=config.beta_1)
        return super().make_optimizer(phase)

    # --- the model ---------------------------------------------------------------------------------
    def decoder_noise(self, batch, seed):
        return tf.random.stateless_normal([batch, self.config.decoder_noise_size], seed)

    def _generate(self, code, noise, training):
        inputs = tf.concat([code, noise], axis=-1) if self.config.decoder_noise_size else code
        return layers.decoder_output(self.decoder(inputs, training=training), self.config.output)

    def decode(self, code, noise=None, seed=None):
        """x_hat = g(code, n); n drawn from N(0, I) with `seed` unless given."""
        if self.config.decoder_noise_size and noise is None:
            noise = self.decoder_noise(tf.shape(code)[0], tf.constant([0, 0], tf.int32) if seed is None else seed)
        return self._generate(tf.convert_to_tensor(code, tf.float32), noise, training=False)

    def reconstruct(self, images, seed):
        """A stochastic reconstruction: z_hat = f(x, eps), then g(z_hat, n), eps and n from `seed`."""
        seeds = tf.random.experimental.stateless_split(seed, 2)
        code = self.encode(images, tf.cast(seeds[0], tf.int32))["code"]
        return self.decode(code, seed=tf.cast(seeds[1], tf.int32))

    def sample(self, n, seed):
        """x ~ g(z, n) with z from the prior (meaningful with the regularization GAN)."""
        seeds = tf.random.experimental.stateless_split(seed, 2)
        return self.decode(self.prior_code(n, tf.cast(seeds[0], tf.int32)), seed=tf.cast(seeds[1], tf.int32))

    def call(self, images, training=False):
        return self.reconstruct(images, tf.constant([0, 0], tf.int32))

    def serving_specs(self):
        return {**super().serving_specs(),
                "noise": tf.TensorSpec([None, self.config.decoder_noise_size], tf.float32, name="noise")}

    def endpoints(self):
        endpoints = super().endpoints()
        if self.config.decoder_noise_size:
            endpoints["decode"] = (lambda code, noise: {"images": self.decode(code, noise)}, ["code", "noise"])
        endpoints["reconstruct"] = (lambda images, seed: {"images": self.reconstruct(images, serving_seed(seed))},
                                    ["images", "seed"])
        return endpoints

    # --- the reconstruction GAN (Eq. 7) ------------------------------------------------------------
    def _reconstruction_pair(self, images, code_draw, noise_draw):
        """(z_hat, x_hat) for a training batch: z_hat = f(x, eps), x_hat = g(z_hat, n)."""
        code = self._encode_train(images, code_draw)["code"]
        noise = None
        if self.config.decoder_noise_size:
            noise = self.replica_slice(lambda n: self.decoder_noise(n, self.seed(noise_draw)), tf.shape(images)[0])
        return code, self._generate(code, noise, training=True)

    def joint_discriminator_loss(self, positive_pair, negative_pair):
        """(loss to minimize, its GAN part) of D(x, z): positive pairs = 1, negative = 0, plus the
        R1 penalty joint_r1 / 2 * |dD/dx|^2 at the positive pairs."""
        images, code = positive_pair
        with tf.GradientTape() as slope_tape:
            slope_tape.watch(images)
            positive = self.joint_discriminator([images, code], training=True)
        gan_loss = losses.discriminator_loss(positive, self.joint_discriminator(list(negative_pair), training=True))
        if not self.config.joint_r1:
            return gan_loss, gan_loss
        return gan_loss + losses.r1_penalty(slope_tape.gradient(positive, images), self.config.joint_r1), gan_loss

    def reconstruction_discriminator_phase(self, data):
        """D(x, z) learns positive (x, z_hat) = 1 (the data joint q(x, z)) and negative
        (x_hat, z_hat) = 0 (the reconstruction joint r(x, z)); both pairs share z_hat."""
        images = data["image"]
        code, reconstruction = self._reconstruction_pair(images, "iae/positive_code", "iae/decoder_noise")
        with tf.GradientTape() as tape:
            loss, gan_loss = self.joint_discriminator_loss((images, code), (reconstruction, code))
        self.apply_phase("reconstruction_discriminator", tape, loss)
        return {"reconstruction_discriminator_loss": gan_loss}  # without the R1 term: ln 4 = chance

    def reconstruction_generator_phase(self, data):
        """Encoder and decoder move the negative (x_hat, z_hat) toward the positive label
        (non-saturating loss); the positive example is not back-propagated (Appendix B.1)."""
        with tf.GradientTape() as tape:
            code, reconstruction = self._reconstruction_pair(data["image"], "iae/generator_code",
                                                             "iae/generator_decoder_noise")
            # z_hat is shared by the positive and the negative pair: moving it in the negative alone
            # lets the encoder inflate the code against D's bias network (|z| grows without bound and
            # the decoder saturates), so the encoder learns through x_hat = g(z_hat, n) only.
            condition = code if self.config.shared_input_gradient else tf.stop_gradient(code)
            loss = losses.generator_loss(self.joint_discriminator([reconstruction, condition], training=True))
        self.apply_phase("reconstruction_generator", tape, loss)
        return {"reconstruction_generator_loss": loss}


_BASE = IAEConfig()
# `python -m zoo.train --model=iae`: stochastic decoder on digits (8x8: one stride-2 layer each side).
registry.register_preset("iae/default", dataclasses.replace(
    _BASE, widths=(64,), joint_discriminator_widths=(64,), code_size=8, decoder_noise_size=16, steps=3000,
    image_every=1000))
_TINY = registry.register_preset("iae/tiny", configs.tiny(
    _BASE, widths=(4,), joint_discriminator_widths=(4,), joint_hidden=8, discriminator_widths=(8,), code_size=3,
    decoder_noise_size=2, noise_size=2))
registry.register_preset("iae/tiny_semi_supervised", dataclasses.replace(
    _TINY, code_size=0, num_clusters=10, num_labels=10, joint_conditioning="location_invariant", adversarial=True))


# MNIST as Appendix B Table 1 builds it: FC 2000 - FC 2000 encoder and decoder with batch norm after
# every hidden layer and after the code layer, D(x, z) conv 64 - conv 128 - FC 1024 with batch norm,
# a 2000-2000 regularization discriminator (B.1), the encoder's gradient through the whole negative
# pair and no R1 (the paper's reconstruction GAN; `joint_r1` / `shared_input_gradient` switch them).
_TABLE1 = dict(
    architecture="mlp", widths=(2000, 2000), discriminator_widths=(2000, 2000), batch_norm=True,
    code_batch_norm=True, joint_architecture="conv", joint_discriminator_widths=(64, 128), joint_dense=1024,
    joint_batch_norm=True, joint_r1=0.0, shared_input_gradient=True)


def _paper_preset(name, dataset, code_size, noise_size, widths=(64, 128, 256), **changes):
    """Appendix Tables 2-3 by size: conv encoder / decoder / D(x, z) sized by widths, batch norm
    after every hidden layer (Table 1's MNIST networks are `_TABLE1`'s, passed as changes)."""
    fields = dict(dataset=dataset, widths=widths, joint_discriminator_widths=widths, code_size=code_size,
                  decoder_noise_size=noise_size, steps=10000, checkpoint_every=1000, image_every=1000,
                  batch_norm=True, joint_batch_norm=True)
    return registry.register_preset(f"iae/{name}", dataclasses.replace(_BASE, **{**fields, **changes}))


# Fig. 2 on MNIST (or Fashion-MNIST with --dataset): a 20-D deterministic autoencoder, and stochastic
# decoders that leave the low-level information to a 100-D noise (10-D and 5-D codes).
_paper_preset("mnist_deterministic", "mnist", 20, 0, **_TABLE1)
_paper_preset("mnist_stochastic", "mnist", 20, 100, **_TABLE1)
_paper_preset("svhn_stochastic", "svhn_cropped", 75, 1000)
_paper_preset("celeba_stochastic", "celeb_a", 50, 1000, image_size=48)
# Fashion-MNIST tables (experiments.fashion_mnist_table): Fig. 6's 30-way categorical code with a
# 10-D decoder noise, and the semi-supervised 10-way code with the same noise, at the AAE's budget.
# Their categorical logits are standardized over each batch (`cluster_logit_scale`): without it the code collapses.
_FASHION = dataclasses.replace(_BASE, dataset="fashion_mnist", code_size=0, decoder_noise_size=10, steps=3000,
                               checkpoint_every=1000, image_every=1000, cluster_logit_scale=3.0)
registry.register_preset("iae/fashion_mnist_clustering", dataclasses.replace(_FASHION, num_clusters=30))
registry.register_preset("iae/fashion_mnist_semi_supervised", dataclasses.replace(
    _FASHION, num_clusters=10, num_labels=100))

# Clustering and semi-supervised learning on MNIST: Table 1's networks with location-invariant
# conditioning (B.1). The clustering preset standardizes the categorical logits at scale 3
# (`cluster_logit_scale`, not in the paper): plain softmax logits collapse onto a few saturated clusters,
# and the code-layer batch norm (scale 1) leaves codes too soft for the categorical prior; with labels the
# code-layer batch norm measured better. It also holds the code fixed in D(x, z)'s input during the
# encoder's update (`shared_input_gradient=false`, departing from B.1): with the paper's gradient the
# encoder follows D(x, z) to a few clusters (seed 0 at step 1,500: 10 used and 59% error, held 24 and 34%;
# held, 3 seeds at 3,000 steps: 25.93 ± 0.94%; experiments.code_trace; docs/results.md, IAE on MNIST).
# python -m zoo.train --preset=iae/mnist_clustering --set source_dir=../shared/data/mnist \
#     --workdir=runs/iae_mnist_cl
_MNIST = dataclasses.replace(
    _BASE, dataset="mnist", **_TABLE1, joint_conditioning="location_invariant", code_size=0,
    decoder_noise_size=10, steps=3000, checkpoint_every=500, image_every=1000)
registry.register_preset("iae/mnist_clustering", dataclasses.replace(
    _MNIST, num_clusters=30, cluster_logit_scale=3.0, shared_input_gradient=False))
# python -m zoo.train --preset=iae/mnist_semi_supervised --set source_dir=../shared/data/mnist \
#     --workdir=runs/iae_mnist_ss
registry.register_preset("iae/mnist_semi_supervised", dataclasses.replace(_MNIST, num_clusters=10, num_labels=100))
