"""The example family of docs/adding_a_family.md: a plain deterministic autoencoder, `example_ae`.

Importing this module registers the family and its presets `example_ae/default` and `example_ae/tiny`.
A family of the zoo lives in `zoo/models/<family>.py` and `zoo/models/__init__.py` imports it; this
one lives beside the tests, and tests/conftest.py imports it so that it gets every generic test.
The page's code blocks are this file's code.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import tensorflow as tf

from zoo import configs, layers, losses, registry
from zoo.models.base import ZooModel


@dataclasses.dataclass(frozen=True)
class ExampleAEConfig(configs.Config):
    model: str = "example_ae"  # the family's name; its presets are example_ae/<name>
    architecture: str = "mlp"  # the AAE's "mlp" or "conv" autoencoder (zoo.layers)
    widths: tuple[int, ...] = (256, 256)  # MLP hidden units, or conv filters per stride-2 layer
    code_size: int = 8
    learning_rate: float = 1e-3  # ZooModel.make_optimizer's Adam reads it

    TUNABLE: ClassVar[dict] = {
        **configs.Config.TUNABLE,
        "code_size": configs.IntRange(2, 64, log=True),
    }
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ("code_size",)

    def validate(self) -> None:
        super().validate()
        if self.code_size <= 0:
            raise ValueError(f"code_size must be positive, got {self.code_size}")


@registry.register_family("example_ae", ExampleAEConfig)
class ExampleAE(ZooModel):
    """x -> code -> x. One phase, "reconstruction", moves the encoder and the decoder."""

    def __init__(self, config: ExampleAEConfig, spec):
        super().__init__(config, spec, *self.plan(config))
        self.encoder = layers.image_encoder(spec.image_shape, config.architecture, config.widths,
                                            {"code": config.code_size})
        self.decoder = layers.image_decoder(config.code_size, spec.image_shape, config.architecture, config.widths)

    @classmethod
    def plan(cls, config) -> tuple[dict, tuple]:
        """(phase -> the sub-models whose weights it moves, metric names), in the order train_step runs them."""
        return {"reconstruction": ("encoder", "decoder")}, ("reconstruction_loss",)

    # --- what users do with a trained model: ZooModel.endpoints exports these ----------------------
    def encode(self, images, seed):
        return {"code": self.encoder(tf.convert_to_tensor(images, tf.float32), training=False)["code"]}

    def decode(self, code):
        return tf.sigmoid(self.decoder(tf.convert_to_tensor(code, tf.float32), training=False))

    def sample(self, n, seed):
        """Decoded standard-normal codes. Nothing pulls the codes toward that distribution (an AAE's
        code GAN or a VAE's KL term would), so these show the decoder, not samples of the data."""
        return self.decode(tf.random.stateless_normal([n, self.config.code_size], seed))

    def call(self, images, training=False):
        return self.reconstruct(images, tf.constant([0, 0], tf.int32))

    # --- the phase ------------------------------------------------------------------------------------
    def reconstruction_phase(self, data):
        images = data["image"]
        with tf.GradientTape() as tape:
            code = self.encoder(images, training=True)["code"]
            loss = losses.bernoulli_reconstruction(images, self.decoder(code, training=True))
        self.apply_phase("reconstruction", tape, loss)
        return {"reconstruction_loss": loss}


_BASE = ExampleAEConfig()
registry.register_preset("example_ae/default", dataclasses.replace(_BASE, steps=3000, image_every=1000))
# Tests and smoke runs: configs.tiny's few steps of batch 2 (no XLA), on small networks.
registry.register_preset("example_ae/tiny", configs.tiny(_BASE, widths=(8,), code_size=2))
