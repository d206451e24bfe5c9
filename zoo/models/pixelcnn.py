"""PixelCNN (van den Oord, Kalchbrenner, Kavukcuoglu 2016): the PixelGAN autoencoder's decoder and
its baseline. One phase per minibatch: maximum likelihood of the images (Section 2, Eq. 1: the
product of per-pixel conditionals), reported as negative log-likelihood in bits per dimension.
The network and its samplers live in `zoo.autoregressive`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import tensorflow as tf

from zoo import autoregressive, configs, losses, optimizers, registry
from zoo.models.base import ZooModel, serving_seed


@dataclasses.dataclass(frozen=True)
class PixelCNNConfig(configs.Config):
    model: str = "pixelcnn"
    features: int = 64  # h: the residual stream has 2h feature maps, the 3x3 convolutions h
    blocks: int = 12  # residual blocks: 3 "shallow", 12 "deep" (PixelGAN Fig. 3)
    receptive_field: int = 0  # 0 = grows with depth; PixelGAN Fig. 2 uses 9
    gated: bool = False  # gated units tanh . sigmoid in the kxk convolutions
    # 1: the single stack (a blind spot); 2: the Gated PixelCNN's vertical / horizontal stacks, always gated
    stacks: int = 1
    output: str = "categorical"  # "categorical" (256-way 8-bit) or "bernoulli" (binarized)
    learning_rate: float = 1e-3

    TUNABLE: ClassVar[dict] = {
        **configs.Config.TUNABLE,
        "features": configs.Choice((16, 32, 64, 128)),
        "blocks": configs.Choice((3, 6, 12, 20)),
        "receptive_field": configs.Choice((0, 5, 9, 15)),
        "learning_rate": configs.FloatRange(1e-4, 1e-2, log=True),
    }
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ("features", "blocks")

    def validate(self) -> None:
        super().validate()
        configs.check_choice("output", self.output, autoregressive.OUTPUTS)
        configs.check_choice("stacks", self.stacks, autoregressive.STACKS)
        autoregressive.first_kernel_and_block_kernels(self.receptive_field, self.blocks)


def bits_per_dim(log_likelihood, image_shape):
    return -log_likelihood / (math.prod(image_shape) * math.log(2.0))


@registry.register_family("pixelcnn", PixelCNNConfig)
class PixelCNNModel(ZooModel):
    VALIDATION_METRICS = ("bits_per_dim",)

    def __init__(self, config: PixelCNNConfig, spec):
        super().__init__(config, spec, {"likelihood": ("network",)}, ("nll", "train_bits_per_dim"))
        self.network = autoregressive.make(spec.image_shape, config.features, config.blocks, config.receptive_field,
                                           config.gated, config.output, stacks=config.stacks,
                                           jit_sampler=config.jit_compile, name="pixelcnn")

    def make_optimizer(self, phase):
        return optimizers.Adam(self.config.learning_rate)

    def call(self, images, training=False):
        return self.network(images)

    def likelihood_phase(self, data):
        """Maximum likelihood: minimize -log p(x) = -sum_i log p(x_i | x_<i), nats per image."""
        images = data["image"]
        with tf.GradientTape() as tape:
            nll = losses.mean(-self.network.log_likelihood(images, self.network(images)))
        self.apply_phase("likelihood", tape, nll)
        return {"nll": nll, "train_bits_per_dim": bits_per_dim(-nll, self.spec.image_shape)}

    def log_likelihood(self, images):
        return self.network.log_likelihood(images, self.network(images))

    def validation_errors(self, images, seed):
        return {"bits_per_dim": bits_per_dim(self.log_likelihood(images), self.spec.image_shape)}

    def sample(self, n, seed):
        """Ancestral sampling with the cached (fast) sampler."""
        return self.network.sample_fast(n, seed)

    def pictures(self, images, labels, seed, title):
        from zoo import visualize

        return {"samples": visualize.grid(self.traced("sample")(16, seed).numpy(), columns=8)}

    def _log_prob_outputs(self, images):
        log_prob = self.log_likelihood(images)
        return {"log_prob": log_prob, "bits_per_dim": bits_per_dim(log_prob, self.spec.image_shape)}

    def serving_specs(self):
        return {"images": tf.TensorSpec([None, *self.spec.image_shape], tf.float32, name="images"),
                "seed": tf.TensorSpec([None], tf.int32, name="seed"),
                "n": tf.TensorSpec([], tf.int32, name="n")}

    def endpoints(self):
        return {
            "sample": (lambda n, seed: {"images": self.sample(n, serving_seed(seed))}, ["n", "seed"]),
            "log_prob": (self._log_prob_outputs, ["images"]),
        }


_BASE = PixelCNNConfig()
# `python -m zoo.train --model=pixelcnn`: a shallow PixelCNN on digits.
registry.register_preset("pixelcnn/default", dataclasses.replace(
    _BASE, features=32, blocks=3, steps=2000, image_every=1000))
_TINY = registry.register_preset("pixelcnn/tiny", configs.tiny(_BASE, features=4, blocks=2))
registry.register_preset("pixelcnn/tiny_gated", dataclasses.replace(
    _TINY, gated=True, receptive_field=5, output="bernoulli"))
# PixelGAN Fig. 2's baseline: a PixelCNN alone with a receptive field of 9, on Fashion-MNIST; the
# same network as the decoder of pixelgan/fashion_mnist_gaussian_rf9.
registry.register_preset("pixelcnn/fashion_mnist_rf9", dataclasses.replace(
    _BASE, dataset="fashion_mnist", features=32, blocks=6, receptive_field=9, steps=3000, image_every=1000))
# The same on MNIST: the decoder of pixelgan/mnist_gaussian (binarized, the Gated PixelCNN's two stacks).
# python -m zoo.train --preset=pixelcnn/mnist_rf9 --set source_dir=../shared/data/mnist --workdir=runs/pixelcnn_mnist
registry.register_preset("pixelcnn/mnist_rf9", dataclasses.replace(
    _BASE, dataset="mnist", output="bernoulli", stacks=2, features=32, blocks=6, receptive_field=9, steps=3000,
    image_every=1000, jit_compile=False))
