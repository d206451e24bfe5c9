"""Flipped implicit autoencoders (Makhzani 2018, Section 4, Fig. 10, Eqs. 9-13).

The IAE with the roles of x and z exchanged. The generative path is a GAN generator with noise,
x = g(z, n) with z ~ p(z) (`decoder`, noise `decoder_noise_size`); the recognition path is implicit,
z_hat = f(x, eps) (`encoder`, noise `noise_size`). Two GANs (Eq. 13):
  - the regularization GAN on x matches the model's p(x) with the data (Eq. 11's KL(p_data || p));
  - the reconstruction GAN on joints matches s(x, z) = p(x) q(z | x) (negative pairs (x, z_hat),
    z_hat = f(x, eps) with x generated) with the model's joint p(x, z) (positive pairs (x, z)):
    the code is reconstructed, the z-space analogue of the IAE's image reconstruction (Eq. 12's
    E_p(x) KL(p(z | x) || q(z | x))).
The reconstruction term is what InfoGAN's mutual-information bound approximates with a factorized
q(z | x) (Section 4.1); here q(z | x) is implicit, so it can match a multimodal true posterior
(Figs. 11-12). A 10-way categorical z with a 10-D noise n clusters (q(y | x) classifies); a
15-D Gaussian z with no noise reconstructs deterministically (Fig. 13).

Phases per minibatch, in order:
  1. image_discriminator: data = real, g(z, n) = fake;
  2. image_generator: the generator fools it;
  3. reconstruction_discriminator: D(x, z) learns (x, z) = positive, (x, z_hat) = negative;
  4. reconstruction_generator: recognition and generator move the negative toward the positive,
     back-propagating through the negative only. The positive and negative share x, which D's
     image input holds fixed (as the IAE holds the shared z_hat): the recognition network learns
     through z_hat, the generator through z_hat = f(g(z, n), eps), making its images informative
     about z.
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

from zoo import configs, layers, losses, optimizers, registry
from zoo.models.base import serving_seed
from zoo.models.iae import IAE, ImplicitConfig


@dataclasses.dataclass(frozen=True)
class FIAEConfig(ImplicitConfig):
    """The IAE's networks; `discriminator_widths` shape the image discriminator (conv filters or MLP
    units, by `architecture`), `adversarial` turns the regularization GAN on x on or off."""

    model: str = "fiae"
    code_size: int = 15
    discriminator_widths: tuple[int, ...] = (64, 128)
    # R1 penalty gamma / 2 * |dD/dx|^2 on the image discriminator at data (not in the paper): without
    # it the image GAN's discriminator wins and the generator collapses onto one image (docs/iae.md, FIAE).
    image_r1: float = 0.0
    # Section 4: the reconstruction GAN trains the conditional likelihood p(x | z) as well as the
    # posterior. True also moves the positive pair (x, z), x = g(z, n), toward the negative label
    # (the generator's side of the joint GAN, as in ALI); False trains the generator only through
    # the negative pair's code z_hat = f(g(z, n), eps), the IAE's negative-only rule (Appendix B.1).
    positive_pair_gradient: bool = False
    # Not in the paper: InfoGAN's mutual-information term (Chen et al. 2016, Eq. 5), this weight times
    # -log q(y = z | g(z, n)) on the generator and the recognition network, for a categorical z. The
    # reconstruction GAN alone has an exact optimum where x is independent of z (docs/results.md, FIAE).
    code_information: float = 0.0

    def validate(self) -> None:
        super().validate()
        if self.code_information < 0:
            raise ValueError(f"code_information must be >= 0, got {self.code_information}")
        if self.code_information and not self.num_clusters:
            raise ValueError("code_information needs a categorical z (num_clusters > 0)")


@registry.register_family("fiae", FIAEConfig)
class FIAE(IAE):
    def __init__(self, config: FIAEConfig, spec):
        super().__init__(config, spec)
        if config.adversarial:
            self.image_discriminator = layers.image_encoder(
                spec.image_shape, config.architecture, config.discriminator_widths, {"logit": 1},
                name="image_discriminator")

    @staticmethod
    def has_code_gan(config) -> bool:
        return False  # the FIAE's regularization GAN is on x

    @classmethod
    def plan(cls, config):
        phases, metric_names = {}, ()
        if config.adversarial:
            phases = {"image_discriminator": ("image_discriminator",), "image_generator": ("decoder",)}
            metric_names = ("image_discriminator_loss", "image_generator_loss")
        phases.update(reconstruction_discriminator=("joint_discriminator",),
                      reconstruction_generator=("encoder", "decoder"))
        metric_names += ("reconstruction_discriminator_loss", "reconstruction_generator_loss")
        return phases, metric_names + (("code_information_loss",) if config.code_information else ())

    def make_optimizer(self, phase):
        config = self.config
        if phase in ("image_discriminator", "reconstruction_discriminator"):
            return optimizers.Adam(config.discriminator_learning_rate, beta_1=config.beta_1)
        return optimizers.Adam(config.generator_learning_rate, beta_1=config.beta_1)

    # --- what users do with a trained model -------------------------------------------------------
    def generate(self, n, seed):
        """x = g(z, n), z ~ p(z): the generative path (same as `sample`)."""
        return self.sample(n, seed)

    def infer(self, images, seed):
        """z_hat = f(x, eps): a draw of the implicit posterior q(z | x)."""
        return self.encode(images, seed)["code"]

    def sample_metrics(self, seed, n: int = 2000) -> dict:
        """With a categorical z, `code_recovery`: how often q(y | x) gives a generated image x = g(z, n)
        the category of its z (chance 1 / num_clusters). Near chance, the generator ignores z or q
        ignores x, and the clustering of real images means nothing."""
        k = self.config.num_clusters
        if not k:
            return {}
        seeds = tf.random.experimental.stateless_split(seed, 2)
        category = tf.random.stateless_uniform([n], tf.cast(seeds[0], tf.int32), 0, k, tf.int32)
        images = self.decode(tf.one_hot(category, k), seed=tf.cast(seeds[1], tf.int32))
        recovered = tf.argmax(self.classify(images, seed), axis=-1, output_type=tf.int32)
        return {"code_recovery": float(tf.reduce_mean(tf.cast(recovered == category, tf.float32)))}

    def endpoints(self):
        endpoints = super().endpoints()
        endpoints["generate"] = (lambda n, seed: {"images": self.generate(n, serving_seed(seed))}, ["n", "seed"])
        endpoints["infer"] = (lambda images, seed: {"code": self.infer(images, serving_seed(seed))}, ["images", "seed"])
        return endpoints

    # --- the phases --------------------------------------------------------------------------------
    def _generated(self, batch, prior_draw, noise_draw):
        """(z, x) with z ~ p(z) and x = g(z, n), this replica's slice of the global draw."""
        code = self.replica_slice(lambda k: self.prior_code(k, self.seed(prior_draw)), batch)
        noise = None
        if self.config.decoder_noise_size:
            noise = self.replica_slice(lambda k: self.decoder_noise(k, self.seed(noise_draw)), batch)
        return code, self._generate(code, noise, training=True)

    def image_discriminator_phase(self, data):
        """The regularization GAN on x (Eq. 11): data = 1, generated = 0."""
        images = data["image"]
        _, generated = self._generated(tf.shape(images)[0], "fiae/prior", "fiae/generator_noise")
        images = tf.convert_to_tensor(images, tf.float32)
        with tf.GradientTape() as tape:
            with tf.GradientTape() as slope_tape:
                slope_tape.watch(images)
                real = self.image_discriminator(images, training=True)["logit"]
            gan_loss = losses.discriminator_loss(real, self.image_discriminator(generated, training=True)["logit"])
            loss = gan_loss
            if self.config.image_r1:
                loss += losses.r1_penalty(slope_tape.gradient(real, images), self.config.image_r1)
        self.apply_phase("image_discriminator", tape, loss)
        return {"image_discriminator_loss": gan_loss}

    def image_generator_phase(self, data):
        with tf.GradientTape() as tape:
            _, generated = self._generated(tf.shape(data["image"])[0], "fiae/prior", "fiae/generator_noise")
            loss = losses.generator_loss(self.image_discriminator(generated, training=True)["logit"])
        self.apply_phase("image_generator", tape, loss)
        return {"image_generator_loss": loss}

    def _code_reconstruction(self, batch):
        """(x, z, q's heads): x = g(z, n) from the prior, q's heads on x (z_hat = their "code")."""
        code, generated = self._generated(batch, "fiae/prior", "fiae/generator_noise")
        return generated, code, self._encode_train(generated, "fiae/recognition_noise")

    def reconstruction_discriminator_phase(self, data):
        """D(x, z): positive (x, z) ~ p(x, z), negative (x, z_hat) ~ s(x, z) (Eq. 12)."""
        generated, code, heads = self._code_reconstruction(tf.shape(data["image"])[0])
        with tf.GradientTape() as tape:
            loss, gan_loss = self.joint_discriminator_loss((generated, code), (generated, heads["code"]))
        self.apply_phase("reconstruction_discriminator", tape, loss)
        return {"reconstruction_discriminator_loss": gan_loss}

    def reconstruction_generator_phase(self, data):
        """The negative (x, z_hat) moves toward the positive label; x, shared with the positive, is
        held fixed in D's input. With `positive_pair_gradient` the positive (x, z) also moves toward
        the negative label through x = g(z, n); with `code_information`, InfoGAN's term is added."""
        config = self.config
        with tf.GradientTape() as tape:
            generated, code, heads = self._code_reconstruction(tf.shape(data["image"])[0])
            shown = generated if config.shared_input_gradient else tf.stop_gradient(generated)
            loss = losses.generator_loss(self.joint_discriminator([shown, heads["code"]], training=True))
            metrics = {"reconstruction_generator_loss": loss}
            if config.positive_pair_gradient:
                loss += losses.sigmoid_cross_entropy(0.0, self.joint_discriminator([generated, code], training=True))
            if config.code_information:
                information = losses.softmax_cross_entropy(tf.argmax(code, axis=-1), heads["y_logits"])
                loss += config.code_information * information
                metrics["code_information_loss"] = information
        self.apply_phase("reconstruction_generator", tape, loss)
        return metrics


_BASE = FIAEConfig()
# `python -m zoo.train --model=fiae`: digits, 8-D code, 8-D generator noise.
registry.register_preset("fiae/default", dataclasses.replace(
    _BASE, widths=(64,), joint_discriminator_widths=(64,), discriminator_widths=(64,), code_size=8,
    decoder_noise_size=8, steps=3000, image_every=1000))
registry.register_preset("fiae/tiny", configs.tiny(
    _BASE, widths=(4,), joint_discriminator_widths=(4,), discriminator_widths=(4,), joint_hidden=8, code_size=3,
    decoder_noise_size=2, noise_size=2))
# Fig. 13: deterministic reconstructions through a 15-D code, no noise on either path. The paper
# presets put R1 (gamma 10) on the image discriminator: without it the generator collapses.
registry.register_preset("fiae/mnist_deterministic", dataclasses.replace(
    _BASE, dataset="mnist", code_size=15, steps=10000, checkpoint_every=1000, image_every=1000, image_r1=10.0))
# Clustering (Section 4): a 10-way categorical z, a 10-D Gaussian n, a 20-D eps; q(y | x) clusters.
# The recognition network's logits are standardized over each batch (`cluster_logit_scale`) against the collapse.
_CLUSTERING = dataclasses.replace(_BASE, code_size=0, num_clusters=10, decoder_noise_size=10, noise_size=20,
                                  steps=3000, checkpoint_every=1000, image_every=1000, cluster_logit_scale=3.0,
                                  image_r1=10.0)
registry.register_preset("fiae/mnist_clustering", dataclasses.replace(_CLUSTERING, dataset="mnist"))
registry.register_preset("fiae/fashion_mnist_clustering", dataclasses.replace(_CLUSTERING, dataset="fashion_mnist"))
