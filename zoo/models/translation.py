"""What the two translation families (`cycleiae`, `cyclegan`) share: their config, the two ResNet
generators (A -> B and B -> A, each with its own noise), the code discriminator on domain B, the
translation pictures and the serving endpoints. Data: a two-domain dataset (`zoo.data.domains`,
label 0 = A, 1 = B), the domains drawn unpaired."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import tensorflow as tf

from zoo import configs, layers, losses, optimizers
from zoo.models.base import ZooModel, serving_seed


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
        self.code_discriminator = layers.patch_discriminator(shape, config.discriminator_widths,
                                                             name="code_discriminator",
                                                             minibatch_stddev=config.minibatch_stddev)

    def make_optimizer(self, phase):
        rate = (self.config.discriminator_learning_rate if "discriminator" in phase
                else self.config.generator_learning_rate)
        return optimizers.Adam(rate, beta_1=self.config.beta_1)

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
            noise = self._noise(self.config.encoder_noise_size, tf.shape(images)[0], seed_or_zero(seed))
        return self._run(self.encoder, images, noise, training=False)

    def decode(self, codes, seed=None, noise=None):
        """B -> A: x_hat = g(z, n), n from `seed` unless given."""
        if noise is None and self.config.decoder_noise_size:
            noise = self._noise(self.config.decoder_noise_size, tf.shape(codes)[0], seed_or_zero(seed))
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
    def _train_run(self, network, noise_size, images, draw):
        """`network` in training mode on this replica's images, its noise this replica's slice of
        the global draw."""
        noise = None
        if noise_size:
            noise = self.replica_slice(lambda k: self._noise(noise_size, k, self.seed(draw)), tf.shape(images)[0])
        return self._run(network, images, noise, training=True)

    def _train_translate(self, images, draw):
        return self._train_run(self.encoder, self.config.encoder_noise_size, images, draw)

    def _train_decode(self, codes, draw):
        return self._train_run(self.decoder, self.config.decoder_noise_size, codes, draw)

    # --- the code GAN (shared) ---------------------------------------------------------------------
    def code_discriminator_phase(self, data):
        """Real B images = 1, the encoder's codes z_hat = f(x, eps) = 0."""
        codes = self._train_translate(data["image"], "translation/code_noise")
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
            "translate": (lambda images, seed: {"code": self.translate(images, serving_seed(seed))},
                          ["images", "seed"]),
            "decode": (lambda code, seed: {"images": self.decode(code, serving_seed(seed))}, ["code", "seed"]),
            "reconstruct": (lambda images, seed: {"images": self.reconstruct(images, serving_seed(seed))},
                            ["images", "seed"]),
        }


def seed_or_zero(seed):
    return tf.constant([0, 0], tf.int32) if seed is None else tf.cast(seed, tf.int32)
