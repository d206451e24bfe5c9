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
     negative toward the positive label, back-propagating through the negative only (Appendix B.1);
     the code z_hat, shared with the positive pair, is held fixed in D's input, so the encoder
     learns through x_hat = g(z_hat, n) (as `iae` does, `shared_input_gradient`);
  3. code_discriminator: the regularization GAN on codes, real B images = 1, z_hat = 0;
  4. code_generator: the encoder makes its codes look like B images (imposes B's distribution on
     the code: the translation A -> B).
Unlike CycleGAN's L1 cycle (`cyclegan`), the reconstruction GAN only asks x_hat to be a plausible
A image *for* z_hat, leaving the decoder noise free to carry what the code does not (style, colour).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf

from zoo import configs, layers, losses, registry
from zoo.models.base import ZooModel, serving_seed

(_ENCODER_NOISE, _DECODER_NOISE, _GENERATOR_ENCODER_NOISE, _GENERATOR_DECODER_NOISE, _CODE_NOISE,
 _CODE_GENERATOR_NOISE) = range(31, 37)


@dataclasses.dataclass(frozen=True)
class TranslationConfig(configs.Config):
    """What the CycleIAE and CycleGAN share: the generators, the code discriminator, the noises."""

    dataset: str = "fashion_edges2shoes"
    batch_size: int = 16
    widths: tuple[int, ...] = (64, 128, 256)  # generator: a 7x7 conv, then one stride-2 conv per further width
    residual_blocks: int = 0  # 0 = CycleGAN's rule: 9 from 256x256 up, 6 below
    discriminator_widths: tuple[int, ...] = (64, 128, 256)  # PatchGAN filters (the last at stride 1)
    encoder_noise_size: int = 0  # eps of z_hat = f(x, eps): 0 = deterministic A -> B
    decoder_noise_size: int = 100  # n of x_hat = g(z_hat, n): 0 = deterministic B -> A
    generator_learning_rate: float = 2e-4
    discriminator_learning_rate: float = 2e-4
    beta_1: float = 0.5  # Adam's beta_1 (CycleGAN's)
    # The code discriminator also sees the batch's spread (`layers.MinibatchStddev`): see CycleIAEConfig.
    minibatch_stddev: bool = False

    TUNABLE: ClassVar[dict] = {
        **configs.Config.TUNABLE,
        "encoder_noise_size": configs.Choice((0, 10, 100)),
        "decoder_noise_size": configs.Choice((0, 10, 100)),
        "generator_learning_rate": configs.FloatRange(2e-5, 2e-3, log=True),
        "discriminator_learning_rate": configs.FloatRange(2e-5, 2e-3, log=True),
    }
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ("encoder_noise_size", "decoder_noise_size")

    def validate(self) -> None:
        super().validate()
        if not self.widths or not self.discriminator_widths:
            raise ValueError("widths and discriminator_widths need at least one entry")
        for name in ("encoder_noise_size", "decoder_noise_size", "residual_blocks"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.num_labels:
            raise ValueError(f"{self.model} has no semi-supervised phase: leave num_labels at 0")


@dataclasses.dataclass(frozen=True)
class CycleIAEConfig(TranslationConfig):
    model: str = "cycleiae"
    # R1 penalty gamma / 2 * |dD/dx|^2 at positive pairs, as the `iae` (not in the paper; see README).
    joint_r1: float = 0.1
    # True also differentiates D's code input of the negative pair (a literal Appendix B.1).
    shared_input_gradient: bool = False
    # Not in the paper. Only the regularization GAN keeps the codes informative: a constant encoder
    # with a decoder that draws A images from its noise alone is an equilibrium of the reconstruction
    # GAN (the joints match trivially), so a code discriminator that judges each image alone lets the
    # encoder collapse to one image (measured: README). CycleGAN's L1 cycle has no such equilibrium.
    minibatch_stddev: bool = True


class Translator(ZooModel):
    """The two generators and the code discriminator; families add their discriminators, and their
    phases with a classmethod `plan(config) -> (phases, metric names)`."""

    TWO_DOMAINS = True
    PICTURES = ("translations", "decodings")

    def __init__(self, config: TranslationConfig, spec):
        if spec.num_classes != 2:
            raise ValueError(
                f"{config.model} translates between two domains: it needs a two-domain dataset (label 0 = domain "
                f"A, 1 = domain B), e.g. fashion_edges2shoes, edges2shoes, celeb_a (female -> male) or any "
                f"dataset with `--set classes=A,B`; {spec.name} has {spec.num_classes} classes")
        phases, metric_names = self.plan(config)
        super().__init__(config, spec, phases, metric_names)
        shape, channels = tuple(spec.image_shape), spec.image_shape[-1]
        blocks = config.residual_blocks or layers.residual_blocks_for(shape)
        self.encoder = layers.resnet_generator(shape, channels, config.widths, blocks, config.encoder_noise_size,
                                               name="encoder")
        self.decoder = layers.resnet_generator(shape, channels, config.widths, blocks, config.decoder_noise_size,
                                               name="decoder")
        self.code_discriminator = layers.patch_discriminator(shape, config.discriminator_widths, name="code_discriminator",
                                                             minibatch_stddev=config.minibatch_stddev)

    def make_optimizer(self, phase):
        rate = self.config.discriminator_learning_rate if "discriminator" in phase else self.config.generator_learning_rate
        return keras.optimizers.Adam(rate, beta_1=self.config.beta_1)

    # --- the model ---------------------------------------------------------------------------------
    @staticmethod
    def _noise(size, batch, seed):
        return tf.random.stateless_normal([batch, size], seed) if size else None

    @staticmethod
    def _run(network, images, noise, training):
        images = tf.convert_to_tensor(images, tf.float32)
        logits = network(images if noise is None else [images, noise], training=training)
        return tf.sigmoid(logits)

    def translate(self, images, seed=None, noise=None):
        """A -> B: z_hat = f(x, eps), eps from `seed` unless given."""
        if noise is None and self.config.encoder_noise_size:
            noise = self._noise(self.config.encoder_noise_size, tf.shape(images)[0], _seed_or_zero(seed))
        return self._run(self.encoder, images, noise, training=False)

    def decode(self, codes, seed=None, noise=None):
        """B -> A: x_hat = g(z, n), n from `seed` unless given."""
        if noise is None and self.config.decoder_noise_size:
            noise = self._noise(self.config.decoder_noise_size, tf.shape(codes)[0], _seed_or_zero(seed))
        return self._run(self.decoder, codes, noise, training=False)

    def encode(self, images, seed):
        return {"code": self.translate(images, seed)}

    def reconstruct(self, images, seed):
        """A -> B -> A: x_hat = g(f(x, eps), n), eps and n from `seed`."""
        seeds = tf.random.experimental.stateless_split(seed, 2)
        return self.decode(self.translate(images, tf.cast(seeds[0], tf.int32)), tf.cast(seeds[1], tf.int32))

    def call(self, images, training=False):
        return self.reconstruct(images, tf.constant([0, 0], tf.int32))

    def translation_grid(self, images, draws: int, seed) -> np.ndarray:
        """IAE Fig. 8's layout, [N, 2 + draws, H, W, C]: each row an input x, its code z_hat, and
        reconstructions g(z_hat, n_k); the code is fixed along a row and n_k down a column."""
        codes = self.translate(images, seed)
        n = tf.shape(images)[0]
        columns = [images, codes]
        for k in range(draws):
            column_seed = tf.random.experimental.stateless_fold_in(seed, k + 1)
            noise = None
            if self.config.decoder_noise_size:
                noise = tf.tile(self._noise(self.config.decoder_noise_size, 1, column_seed), [n, 1])
            columns.append(self.decode(codes, noise=noise))
        return np.stack([np.asarray(c) for c in columns], axis=1)

    # --- training draws ----------------------------------------------------------------------------
    def _train_run(self, network, noise_size, images, salt):
        """`network` in training mode on this replica's images, its noise this replica's slice of
        the global draw."""
        noise = None
        if noise_size:
            noise = self.replica_slice(lambda k: self._noise(noise_size, k, self.seed(salt)), tf.shape(images)[0])
        return self._run(network, images, noise, training=True)

    def _train_translate(self, images, salt):
        return self._train_run(self.encoder, self.config.encoder_noise_size, images, salt)

    def _train_decode(self, codes, salt):
        return self._train_run(self.decoder, self.config.decoder_noise_size, codes, salt)

    # --- the code GAN (shared) ---------------------------------------------------------------------
    def code_discriminator_phase(self, data):
        """Real B images = 1, the encoder's codes z_hat = f(x, eps) = 0."""
        codes = self._train_translate(data["image"], _CODE_NOISE)
        with tf.GradientTape() as tape:
            loss = losses.discriminator_loss(self.code_discriminator(data["code_image"], training=True),
                                             self.code_discriminator(codes, training=True))
        self.apply_phase("code_discriminator", tape, loss)
        return {"code_discriminator_loss": loss}

    # --- pictures and serving ----------------------------------------------------------------------
    def pictures(self, images, labels, seed, title: str) -> dict:
        from zoo import visualize

        a, b = images[labels == 0][:8], images[labels == 1][:8]
        grid = self.translation_grid(tf.constant(a), 5, seed)
        back = [b] + [self.decode(tf.constant(b), tf.random.experimental.stateless_fold_in(seed, k)).numpy()
                      for k in range(5)]
        return {"translations": visualize.grid(grid.reshape(-1, *a.shape[1:]), columns=grid.shape[1]),
                "decodings": visualize.grid(np.stack(back, axis=1).reshape(-1, *b.shape[1:]), columns=len(back))}

    def serving_specs(self):
        image = tf.TensorSpec([None, *self.spec.image_shape], tf.float32, name="images")
        return {"images": image, "code": tf.TensorSpec([None, *self.spec.image_shape], tf.float32, name="code"),
                "seed": tf.TensorSpec([None], tf.int32, name="seed")}

    def endpoints(self):
        """translate (A -> B), decode (B -> A), reconstruct (A -> B -> A); `seed` draws the noise."""
        return {
            "translate": (lambda images, seed: {"code": self.translate(images, serving_seed(seed))}, ["images", "seed"]),
            "decode": (lambda code, seed: {"images": self.decode(code, serving_seed(seed))}, ["code", "seed"]),
            "reconstruct": (lambda images, seed: {"images": self.reconstruct(images, serving_seed(seed))},
                            ["images", "seed"]),
        }


def _seed_or_zero(seed):
    return tf.constant([0, 0], tf.int32) if seed is None else tf.cast(seed, tf.int32)


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
        codes = self._train_translate(images, _ENCODER_NOISE)
        reconstructions = self._train_decode(codes, _DECODER_NOISE)
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
            codes = self._train_translate(data["image"], _GENERATOR_ENCODER_NOISE)
            reconstructions = self._train_decode(codes, _GENERATOR_DECODER_NOISE)
            condition = codes if self.config.shared_input_gradient else tf.stop_gradient(codes)
            loss = losses.generator_loss(self._joint(reconstructions, condition))
        self.apply_phase("reconstruction_generator", tape, loss)
        return {"reconstruction_generator_loss": loss}

    def code_generator_phase(self, data):
        """The encoder's codes are pushed toward the real-B label (non-saturating loss)."""
        with tf.GradientTape() as tape:
            codes = self._train_translate(data["image"], _CODE_GENERATOR_NOISE)
            loss = losses.generator_loss(self.code_discriminator(codes, training=True))
        self.apply_phase("code_generator", tape, loss)
        return {"code_generator_loss": loss}


_BASE = CycleIAEConfig()
# `python -m zoo.train --model=cycleiae`: Fig. 8's model (deterministic A -> B, 100-D noise B -> A) on
# fashion_edges2shoes; `--dataset=edges2shoes` gives the paper's 256x256 data (9 residual blocks).
registry.register_preset("cycleiae/default", dataclasses.replace(_BASE, steps=3000, checkpoint_every=500,
                                                                 image_every=500))
registry.register_preset("cycleiae/tiny", dataclasses.replace(
    _BASE, dataset="digits_edges", widths=(4, 8), residual_blocks=1, discriminator_widths=(4, 8), encoder_noise_size=0,
    decoder_noise_size=3, batch_size=2, steps=4, log_every=2, checkpoint_every=2, image_every=2, jit_compile=False,
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
