"""CycleGAN (Zhu et al. 2017), the baseline of the CycleIAE (IAE Section 3): the same generators,
noises and PatchGAN discriminators, with the L1 cycle-consistency in place of the reconstruction GAN.

G = encoder (A -> B, noise eps), F = decoder (B -> A, noise n). Phases per minibatch:
  1. code_discriminator: D_B, real B = 1, G(a) = 0 (the adversarial loss of Eq. 1);
  2. image_discriminator: D_A, real A = 1, F(b) = 0;
  3. generators: G and F minimize the two non-saturating GAN losses plus
     cycle_weight * (|F(G(a)) - a|_1 + |G(F(b)) - b|_1) (Eqs. 2-3, lambda = 10).
The zoo uses the cross-entropy GAN loss of every other family (the paper's code uses least squares).
The L1 cycle asks F(G(a)) to be a itself whatever the noise, which pushes F to ignore its noise: the
IAE paper's claim, measured in experiments/cycle_table.py rather than assumed.
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

from zoo import configs, layers, losses, registry
from zoo.models.translation import TranslationConfig, Translator


@dataclasses.dataclass(frozen=True)
class CycleGANConfig(TranslationConfig):
    model: str = "cyclegan"
    cycle_weight: float = 10.0  # lambda of Eq. 3

    def validate(self) -> None:
        super().validate()
        if self.cycle_weight < 0:
            raise ValueError(f"cycle_weight must be >= 0, got {self.cycle_weight}")


@registry.register_family("cyclegan", CycleGANConfig)
class CycleGAN(Translator):
    def __init__(self, config: CycleGANConfig, spec):
        super().__init__(config, spec)
        self.image_discriminator = layers.patch_discriminator(tuple(spec.image_shape), config.discriminator_widths,
                                                              name="image_discriminator")

    @classmethod
    def plan(cls, config):
        return ({"code_discriminator": ("code_discriminator",),
                 "image_discriminator": ("image_discriminator",),
                 "generators": ("encoder", "decoder")},
                ("code_discriminator_loss", "image_discriminator_loss", "generator_loss", "cycle_loss"))

    def image_discriminator_phase(self, data):
        """D_A: real A images = 1, F(b, n) = 0."""
        translated = self._train_decode(data["code_image"], "cyclegan/fake_a")
        with tf.GradientTape() as tape:
            loss = losses.discriminator_loss(self.image_discriminator(data["image"], training=True),
                                             self.image_discriminator(translated, training=True))
        self.apply_phase("image_discriminator", tape, loss)
        return {"image_discriminator_loss": loss}

    def generators_phase(self, data):
        a, b = data["image"], data["code_image"]
        with tf.GradientTape() as tape:
            fake_b = self._train_translate(a, "cyclegan/generated_b")
            fake_a = self._train_decode(b, "cyclegan/generated_a")
            gan = (losses.generator_loss(self.code_discriminator(fake_b, training=True))
                   + losses.generator_loss(self.image_discriminator(fake_a, training=True)))
            cycle = (losses.mean(tf.abs(self._train_decode(fake_b, "cyclegan/cycle_a") - a))
                     + losses.mean(tf.abs(self._train_translate(fake_a, "cyclegan/cycle_b") - b)))
            loss = gan + self.config.cycle_weight * cycle
        self.apply_phase("generators", tape, loss)
        return {"generator_loss": gan, "cycle_loss": cycle}


_BASE = CycleGANConfig()
registry.register_preset("cyclegan/default", dataclasses.replace(_BASE, steps=3000, checkpoint_every=500,
                                                                 image_every=500))
registry.register_preset("cyclegan/tiny", configs.tiny(
    _BASE, dataset="digits_edges", widths=(4, 8), residual_blocks=1, discriminator_widths=(4, 8), decoder_noise_size=3))
registry.register_preset("cyclegan/fashion_edges2shoes", dataclasses.replace(
    _BASE, widths=(16, 32, 64), discriminator_widths=(16, 32, 64), residual_blocks=3, batch_size=32,
    steps=2000, checkpoint_every=500, image_every=500))
