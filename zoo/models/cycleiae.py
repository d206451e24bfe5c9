"""CycleIAE: unpaired, multimodal image-to-image translation (Makhzani 2018, Implicit Autoencoders,
Section 3, Fig. 7; architecture Appendix B.2).

An implicit autoencoder of domain A whose latent code is an image of domain B. The encoder
z_hat = f(x, eps) translates A -> B, the decoder x_hat = g(z_hat, n) translates B -> A; both are
CycleGAN's ResNet generator (`layers.resnet_generator`) with the noise entering every batch norm
(`layers._noise_batch_norm`). Either side is stochastic or deterministic by its noise size: Fig. 8
(edges <- shoes) has a deterministic encoder and a 100-D decoder noise, Fig. 9 (female -> male) a
100-D encoder noise and a deterministic decoder. Data: a two-domain dataset (`zoo.data.domains`,
label 0 = A, 1 = B), the domains drawn unpaired.

Phases per minibatch, in order (the IAE's two GANs, Eq. 7, with images for codes):
  1. reconstruction_discriminator: D(x, z) -- a PatchGAN on the channels of x and z concatenated --
     learns the positive joint (x, z_hat) = 1 and the negative (x_hat, z_hat) = 0;
  2. reconstruction_generator ("adversarial cycle-consistency"): encoder and decoder move the
     negative toward the positive label, back-propagating through the whole negative example
     (Appendix B.1): the encoder learns through x_hat = g(z_hat, n) and through z_hat in D's input
     (`shared_input_gradient=false` holds the code fixed there);
  3. code_discriminator: the regularization GAN on codes, real B images = 1, z_hat = 0;
  4. code_generator: the encoder makes its codes look like B images (imposes B's distribution on
     the code: the translation A -> B).
Unlike CycleGAN's L1 cycle (`cyclegan`), the reconstruction GAN only asks x_hat to be a plausible
A image *for* z_hat, leaving the decoder noise free to carry what the code does not (style, colour).
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

from zoo import configs, layers, losses, registry
from zoo.models.translation import TranslationConfig, Translator


@dataclasses.dataclass(frozen=True)
class CycleIAEConfig(TranslationConfig):
    model: str = "cycleiae"
    # R1 penalty gamma / 2 * |dD/dx|^2 at positive pairs, as the `iae` (not in the paper; docs/iae.md).
    joint_r1: float = 0.1
    # Differentiate D's code input of the negative pair (Appendix B.1). The stop-gradient (False) was
    # made against code inflation, measured for unbounded Gaussian codes; a sigmoid image code cannot inflate.
    shared_input_gradient: bool = True
    # Not in the paper. Only the regularization GAN keeps the codes informative: a constant encoder
    # with a decoder that draws A images from its noise alone is an equilibrium of the reconstruction
    # GAN (the joints match trivially), so a code discriminator that judges each image alone lets the
    # encoder collapse to one image (measured: docs/cycleiae.md). CycleGAN's L1 cycle has no such equilibrium.
    minibatch_stddev: bool = True


@registry.register_family("cycleiae", CycleIAEConfig)
class CycleIAE(Translator):
    def __init__(self, config: CycleIAEConfig, spec):
        super().__init__(config, spec)
        height, width, channels = spec.image_shape
        self.joint_discriminator = layers.patch_discriminator((height, width, 2 * channels),
                                                              config.discriminator_widths, name="joint_discriminator")

    @classmethod
    def plan(cls, config):
        return ({"reconstruction_discriminator": ("joint_discriminator",),
                 "reconstruction_generator": ("encoder", "decoder"),
                 "code_discriminator": ("code_discriminator",),
                 "code_generator": ("encoder",)},
                ("reconstruction_discriminator_loss", "reconstruction_generator_loss", "code_discriminator_loss",
                 "code_generator_loss"))

    def _joint(self, images, codes):
        return self.joint_discriminator(tf.concat([images, codes], axis=-1), training=True)

    def reconstruction_discriminator_phase(self, data):
        """D(x, z): positive (x, z_hat) = 1, negative (x_hat, z_hat) = 0, plus the R1 penalty
        joint_r1 / 2 * |dD/dx|^2 at the positive pairs (loss reported without it: ln 4 = chance)."""
        images = data["image"]
        codes = self._train_translate(images, "cycleiae/encoder_noise")
        reconstructions = self._train_decode(codes, "cycleiae/decoder_noise")
        with tf.GradientTape() as tape:
            with tf.GradientTape() as slope_tape:
                slope_tape.watch(images)
                positive = self._joint(images, codes)
            gan_loss = losses.discriminator_loss(positive, self._joint(reconstructions, codes))
            loss = gan_loss
            if self.config.joint_r1:
                slope = slope_tape.gradient(positive, images)
                loss += 0.5 * self.config.joint_r1 * losses.mean(tf.reduce_sum(tf.square(slope), axis=[1, 2, 3]))
        self.apply_phase("reconstruction_discriminator", tape, loss)
        return {"reconstruction_discriminator_loss": gan_loss}

    def reconstruction_generator_phase(self, data):
        """Adversarial cycle-consistency: the negative (x_hat, z_hat) is pushed toward the positive
        label; only the negative is back-propagated (Appendix B.1)."""
        with tf.GradientTape() as tape:
            codes = self._train_translate(data["image"], "cycleiae/generator_encoder_noise")
            reconstructions = self._train_decode(codes, "cycleiae/generator_decoder_noise")
            condition = codes if self.config.shared_input_gradient else tf.stop_gradient(codes)
            loss = losses.generator_loss(self._joint(reconstructions, condition))
        self.apply_phase("reconstruction_generator", tape, loss)
        return {"reconstruction_generator_loss": loss}

    def code_generator_phase(self, data):
        """The encoder's codes are pushed toward the real-B label (non-saturating loss)."""
        with tf.GradientTape() as tape:
            codes = self._train_translate(data["image"], "cycleiae/code_generator_noise")
            loss = losses.generator_loss(self.code_discriminator(codes, training=True))
        self.apply_phase("code_generator", tape, loss)
        return {"code_generator_loss": loss}


_BASE = CycleIAEConfig()
# `python -m zoo.train --model=cycleiae`: Fig. 8's model (deterministic A -> B, 100-D noise B -> A) on
# fashion_edges2shoes; `--dataset=edges2shoes` gives the paper's 256x256 data (9 residual blocks).
registry.register_preset("cycleiae/default", dataclasses.replace(_BASE, steps=3000, checkpoint_every=500,
                                                                 image_every=500))
registry.register_preset("cycleiae/tiny", configs.tiny(
    _BASE, dataset="digits_edges", widths=(4, 8), residual_blocks=1, discriminator_widths=(4, 8), encoder_noise_size=0,
    decoder_noise_size=3,
    # Off here: with it, two replicas end 6e-5 away from one device after 4 steps (the layer's own
    # two-replica gradient matches to 3e-8: tests/test_cycle.py), beyond the mirrored test's 1e-5.
    minibatch_stddev=False))
# The CPU-sized comparison with `cyclegan/fashion_edges2shoes` (experiments/cycle_table.py).
registry.register_preset("cycleiae/fashion_edges2shoes", dataclasses.replace(
    _BASE, widths=(16, 32, 64), discriminator_widths=(16, 32, 64), residual_blocks=3, batch_size=32,
    steps=2000, checkpoint_every=500, image_every=500))
# Fig. 9: female -> male faces, stochastic encoder (100-D) and deterministic decoder.
registry.register_preset("cycleiae/celeba_female_to_male", dataclasses.replace(
    _BASE, dataset="celeb_a", image_size=64, encoder_noise_size=100, decoder_noise_size=0, steps=20000,
    checkpoint_every=1000, image_every=1000))
