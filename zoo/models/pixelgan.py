"""PixelGAN autoencoders (Makhzani & Frey 2017).

An adversarial autoencoder whose decoder is a PixelCNN conditioned on the code (Section 2, Fig. 1):
the encoder z = f(x, n) (input noise n optional: `noise_size = 0` is the deterministic encoder)
feeds the PixelCNN an adaptive bias, location-invariant (a vector per layer, every layer) or
location-dependent (a spatial map, first layer only); a GAN on the code imposes the prior. With a
Gaussian prior (`code_size`, `num_clusters = 0`) the code holds global information and the PixelCNN
the local statistics (Section 2.1); with a categorical prior (`num_clusters`, `code_size = 0`) the
encoder ends in a softmax, the GAN sees the softmax probabilities, and the code holds the discrete
class / style split used for clustering and semi-supervised learning (Section 2.2).

Each minibatch runs the phases of the AAE family, which this family extends:
  1. reconstruction: the PixelCNN maximizes log p(x | z); the encoder learns through the
     conditioning (Eq. 2's reconstruction term);
  2. adversarial: the discriminator learns prior samples = positive, codes = negative; then the
     encoder, as the generator, learns to fool it (Eq. 2's adversarial term);
  3. semi-supervised (Section 2.2), when labels are given: cross-entropy of the softmax code on a
     labeled minibatch.
Samples: a code from the prior, then ancestral sampling from the PixelCNN (the cached sampler).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import tensorflow as tf

from zoo import autoregressive, configs, registry
from zoo.models.aae import AAE, AutoencoderConfig, Optimized
from zoo.models.base import serving_seed
from zoo.models.pixelcnn import bits_per_dim


@dataclasses.dataclass(frozen=True)
class PixelGANConfig(configs.SemiSupervised, Optimized, AutoencoderConfig):
    """The AAE's encoder, discriminator, prior and optimizer fields, plus the PixelCNN decoder.
    `widths` / `architecture` shape the encoder; the decoder's likelihood is the reconstruction
    loss."""

    model: str = "pixelgan"
    architecture: str = "conv"
    widths: tuple[int, ...] = (64, 128)
    decoder_features: int = 32
    decoder_blocks: int = 3  # 3 "shallow", 12 "deep" (Fig. 3)
    receptive_field: int = 0  # Fig. 2: 9
    gated: bool = False
    # 1: the single-stack PixelCNN (a blind spot); 2: the Gated PixelCNN's vertical and horizontal
    # stacks (van den Oord et al. 2016b), the conditional decoder PixelGAN Section 2 builds on;
    # always gated (`gated` applies to the single stack).
    decoder_stacks: int = 1
    output: str = "categorical"  # "categorical" (8-bit) or "bernoulli" (binarized)
    conditioning: str = "location_invariant"  # or "location_dependent"
    learning_rate: float = 1e-3

    TUNABLE: ClassVar[dict] = {
        **AutoencoderConfig.TUNABLE, **Optimized.TUNABLE,
        "decoder_features": configs.Choice((16, 32, 64)),
        "decoder_blocks": configs.Choice((3, 6, 12)),
        "receptive_field": configs.Choice((0, 5, 9)),
    }

    def validate(self) -> None:
        super().validate()
        if self.code_size and self.num_clusters:
            raise ValueError("a PixelGAN code is Gaussian (code_size) or categorical (num_clusters), not both")
        configs.check_choice("conditioning", self.conditioning, autoregressive.CONDITIONING[1:])
        configs.check_choice("output", self.output, autoregressive.OUTPUTS)
        configs.check_choice("decoder_stacks", self.decoder_stacks, autoregressive.STACKS)
        autoregressive.first_kernel_and_block_kernels(self.receptive_field, self.decoder_blocks)


@registry.register_family("pixelgan", PixelGANConfig)
class PixelGAN(AAE):
    VALIDATION_METRICS = ("bits_per_dim",)
    PICTURE_SAMPLES, PICTURE_RECONSTRUCTIONS = 16, 8  # drawn pixel by pixel

    def make_decoder(self):
        config = self.config
        return autoregressive.make(self.spec.image_shape, config.decoder_features, config.decoder_blocks,
                                   config.receptive_field, config.gated, config.output,
                                   conditioning=config.conditioning, stacks=config.decoder_stacks,
                                   jit_sampler=config.jit_compile, name="decoder")

    def reconstruction_nll(self, images, code):
        """-log p(x | z) under the conditional PixelCNN, nats per image (averaged)."""
        return tf.reduce_mean(-self.decoder.log_likelihood(images, self.decoder(images, code)))

    def call(self, images, training=False):
        return self.decoder(images, self.encode(images, tf.constant([0, 0], tf.int32))["code"])

    def sample_given_code(self, code, seed):
        """x ~ p(x | code): ancestral sampling from the PixelCNN with the cached sampler."""
        return self.decoder.sample_fast(tf.shape(code)[0], seed, code)

    def sample(self, n, seed):
        seeds = tf.random.experimental.stateless_split(seed, 2)
        return self.sample_given_code(self.prior_code(n, tf.cast(seeds[0], tf.int32)), tf.cast(seeds[1], tf.int32))

    def reconstruct(self, images, seed):
        seeds = tf.random.experimental.stateless_split(seed, 2)
        return self.sample_given_code(self.encode(images, tf.cast(seeds[0], tf.int32))["code"],
                                      tf.cast(seeds[1], tf.int32))

    def decode(self, code):
        raise TypeError("a PixelGAN decodes by sampling: use sample_given_code(code, seed)")

    def log_likelihood(self, images, seed):
        code = self.encode(images, seed)["code"]
        return self.decoder.log_likelihood(images, self.decoder(images, code))

    def validation_errors(self, images, seed):
        """-log p(x | z) with z = f(x, n), in bits per dimension."""
        return {"bits_per_dim": bits_per_dim(self.log_likelihood(images, seed), self.spec.image_shape)}

    def endpoints(self):
        endpoints = {
            "encode": (lambda images, seed: {"code": self.encode(images, serving_seed(seed))["code"]},
                       ["images", "seed"]),
            "sample": (lambda n, seed: {"images": self.sample(n, serving_seed(seed))}, ["n", "seed"]),
            "sample_given_code": (lambda code, seed: {"images": self.sample_given_code(code, serving_seed(seed))},
                                  ["code", "seed"]),
        }
        if self.config.num_clusters:
            endpoints["classify"] = (
                lambda images, seed: {"probabilities": self.classify(images, serving_seed(seed))}, ["images", "seed"])
        return endpoints


_BASE = PixelGANConfig()
_GAUSSIAN = dataclasses.replace(_BASE, code_size=2)
# `python -m zoo.train --model=pixelgan`: 2-D Gaussian code on digits.
registry.register_preset("pixelgan/default", dataclasses.replace(
    _GAUSSIAN, architecture="mlp", widths=(512, 512), discriminator_widths=(512, 512), steps=2000, image_every=1000))
_TINY = registry.register_preset("pixelgan/tiny", configs.tiny(
    _GAUSSIAN, architecture="mlp", widths=(8,), discriminator_widths=(8,), decoder_features=4, decoder_blocks=2))
_TINY_CATEGORICAL = registry.register_preset("pixelgan/tiny_categorical", dataclasses.replace(
    _TINY, code_size=0, num_clusters=4, noise_size=3, output="bernoulli", batch_norm=True, decoder_stacks=2,
    batch_size=4))  # batch norm over 2 examples maps every unit to -1 or +1: batches of 4
# Fig. 5's "without the GAN" on a class subset: the reconstruction phase alone.
registry.register_preset("pixelgan/tiny_three_classes_no_gan", dataclasses.replace(
    _TINY_CATEGORICAL, code_size=0, num_clusters=3, classes=(0, 1, 2), adversarial=False))
registry.register_preset("pixelgan/tiny_semi_supervised", dataclasses.replace(
    _TINY, code_size=0, num_clusters=10, num_labels=10,
    conditioning="location_dependent", receptive_field=5))

# Fashion-MNIST (28x28, 8-bit: 256-way categorical outputs). Encoder: two stride-2 convolutions;
# decoder: a 6-block PixelCNN with 32 / 64 feature maps (sized for CPUs; the paper's deeper decoder
# is `--set decoder_blocks=12 --set decoder_features=64`).
_FASHION = dataclasses.replace(_BASE, dataset="fashion_mnist", decoder_features=32, decoder_blocks=6,
                               steps=3000, log_every=100, checkpoint_every=500, image_every=1000)
# Fig. 2: 2-D Gaussian code, location-dependent bias, PixelCNN receptive field 9.
registry.register_preset("pixelgan/fashion_mnist_gaussian_rf9", dataclasses.replace(
    _FASHION, code_size=2, conditioning="location_dependent", receptive_field=9))
# Section 2.2 / Table 1: categorical code with 30 clusters, location-invariant bias.
registry.register_preset("pixelgan/fashion_mnist_clustering", dataclasses.replace(
    _FASHION, code_size=0, num_clusters=30))
# Semi-supervised: 10 classes, labeled minibatches from `num_labels` examples (100 here). A shallow
# (3-block, Fig. 3) decoder: the class has to travel through the code, and a run of 3000 steps takes
# about 16 minutes on 2 CPU cores instead of 25.
registry.register_preset("pixelgan/fashion_mnist_semi_supervised", dataclasses.replace(
    _FASHION, code_size=0, num_clusters=10, num_labels=100, decoder_blocks=3))

# MNIST (PixelGAN Table 1, Figs. 2-7), binarized: Bernoulli pixels. The encoder is z = f(x, n)
# (Section 2: input noise n) with batch norm; the decoder the Gated PixelCNN's two stacks with the
# adaptive bias on every layer. `--set source_dir=DIR` names the IDX files (e.g. ../shared/data/mnist).
_MNIST = dataclasses.replace(_FASHION, dataset="mnist", output="bernoulli", batch_norm=True, noise_size=10,
                             decoder_stacks=2, decoder_features=32, decoder_blocks=6,
                             generator_learning_rate=1e-3, discriminator_learning_rate=1e-3,
                             jit_compile=False)  # 225 images/s without XLA, 98 with (docs/benchmarks.md)
# Unsupervised clustering, 30 clusters (Table 1's protocol).
# python -m zoo.train --preset=pixelgan/mnist_clustering --set source_dir=../shared/data/mnist \
#     --workdir=runs/pg_mnist_cl
registry.register_preset("pixelgan/mnist_clustering", dataclasses.replace(
    _MNIST, code_size=0, num_clusters=30, cluster_logit_scale=3.0))
# Semi-supervised, 100 labels (`--set num_labels=20` / `50` for Table 1's other rows).
# python -m zoo.train --preset=pixelgan/mnist_semi_supervised --set source_dir=../shared/data/mnist \
#     --workdir=runs/pg_mnist_ss
registry.register_preset("pixelgan/mnist_semi_supervised", dataclasses.replace(
    _MNIST, code_size=0, num_clusters=10, num_labels=100))
# Figs. 2 / 3: a 2-D Gaussian code, location-dependent bias, receptive field 9.
# python -m zoo.train --preset=pixelgan/mnist_gaussian --set source_dir=../shared/data/mnist \
#     --workdir=runs/pg_mnist_gauss
registry.register_preset("pixelgan/mnist_gaussian", dataclasses.replace(
    _MNIST, code_size=2, conditioning="location_dependent", receptive_field=9))
