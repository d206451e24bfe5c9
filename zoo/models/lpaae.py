"""Learning priors for adversarial autoencoders (Wang, Peng & Ko 2020), Section III, Figs. 2-5,
Algorithm 1.

A code generator CG turns a simple sample z ~ N(0, I) (`noise_size`) into the prior's code
z_c = CG(z) (`code_size`): the AAE's prior is learned instead of fixed. Networks: encoder E,
decoder (generator) G, CG, an image discriminator D_I and a code discriminator D_C.

Phases per minibatch, in order:
  1. image_discriminator: D_I learns real x = 1, G(CG(z)) = 0;
  2. prior_improvement (Eq. 4): CG makes G(CG(z)) fool D_I; the decoder moves too with
     `decoder_in_prior_phase` (footnote 2; ablation C); with a conditional prior, CG and Q also
     minimize the mutual-information term L_I = -log Q(s | G(CG(z, s))) (Eqs. 7-8, `info_weight`);
  3. reconstruction (Eq. 5): E and G minimize the perceptual loss, the squared error between D_I's
     last-conv features of G(E(x)) and of x (ablation B; `perceptual=false`: pixel squared error).
     D_I only supplies features here: its weights are not in this phase;
  4. code_discriminator (Eq. 6): D_C learns CG(z) = 1 (the prior) and E(x) = 0;
  5. code_generator: E makes its codes fool D_C (the AAE's regularization, against the learned prior).
`learned_prior=false` (ablation A) drops CG: the prior is N(0, I) on the code itself, as in the AAE.

Conditional priors (`conditioning`): "supervised" (Fig. 4) gives CG(z, s) the one-hot label s and
D_C(z, s) the label too (the label of x for E(x), the drawn s for CG); "unsupervised" (Fig. 5) draws
s from a `prior_categories`-way categorical, D_C label-agnostic. Both add Q(s | x), a classifier of
generated images, and L_I.
"embedding" (Section V, text-to-image) is the supervised prior with s a caption embedding
(`embedding_size`-D, read from the `embeddings` file, `zoo.data.read_captions`; one of an image's
captions drawn per step) instead of a one-hot label; Q regresses s, L_I = |Q(G(CG(z, s))) - s|^2 / 2
(a unit-variance Gaussian Q, as InfoGAN's continuous codes). Unconditional draws take s from a bank
of the last `condition_bank` training captions, kept in the checkpoint.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import tensorflow as tf

from zoo import configs, layers, losses, optimizers, registry
from zoo.models.base import ZooModel, serving_seed

CONDITIONING = ("none", "supervised", "unsupervised", "embedding")


@dataclasses.dataclass(frozen=True)
class LPAAEConfig(configs.Config):
    model: str = "lpaae"
    architecture: str = "conv"  # the AAE's autoencoder: "mlp" or "conv"
    widths: tuple[int, ...] = (64, 128)
    code_size: int = 64  # z_c, the autoencoder's code
    noise_size: int = 64  # z, CG's input
    code_generator_widths: tuple[int, ...] = (256, 256)
    # CG's output layer (layers.MLP_OUTPUTS). "linear" is a plain MLP: nothing fixes the learned prior's scale, and on
    # Fashion-MNIST CG's codes and the encoder's (which D_C pulls after them) drift together to
    # magnitudes in the hundreds within 3,000 steps, saturating the decoder. "standardized" gives each
    # code unit zero mean and unit variance over the batch (batch normalization without learned scale or
    # offset), "tanh" bounds it to (-1, 1); either keeps the prior's shape free but its scale fixed.
    code_generator_output: str = "standardized"
    code_discriminator_widths: tuple[int, ...] = (256, 256)
    image_discriminator_widths: tuple[int, ...] = (64, 128)  # conv filters; the last layer's features are perceptual
    learned_prior: bool = True  # ablation A
    perceptual: bool = True  # ablation B
    decoder_in_prior_phase: bool = True  # ablation C
    conditioning: str = "none"
    prior_categories: int = 10  # categories of s for the unsupervised conditional prior
    embeddings: str = ""  # conditioning=embedding: the caption-embedding file (zoo.data.CAPTIONS_FORMAT)
    embedding_size: int = 0  # D of those embeddings
    condition_bank: int = 256  # conditioning=embedding: training captions kept for unconditional draws
    info_weight: float = 1.0  # lambda of L_I
    learning_rate: float = 2e-4
    beta_1: float = 0.5

    TUNABLE: ClassVar[dict] = {
        **configs.Config.TUNABLE,
        "code_size": configs.Choice((8, 16, 32, 64, 100)),
        "noise_size": configs.Choice((8, 16, 32, 64, 100)),
        "learning_rate": configs.FloatRange(5e-5, 1e-3, log=True),
    }
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ("code_size", "noise_size")

    def validate(self) -> None:
        super().validate()
        if self.code_size <= 0 or self.noise_size <= 0:
            raise ValueError(f"code_size and noise_size must be positive, got {self.code_size}, {self.noise_size}")
        configs.check_choice("code_generator_output", self.code_generator_output, layers.MLP_OUTPUTS)
        configs.check_choice("conditioning", self.conditioning, CONDITIONING)
        if self.conditioning != "none" and not self.learned_prior:
            raise ValueError("a conditional prior is a code generator CG(z, s): it needs learned_prior=true")
        if (self.conditioning == "embedding") != bool(self.embeddings and self.embedding_size > 0):
            raise ValueError("conditioning=embedding needs an `embeddings` file and its `embedding_size` (and other "
                             "conditionings neither), got " + f"embeddings={self.embeddings!r}, "
                             f"embedding_size={self.embedding_size}")
        if self.conditioning == "embedding" and self.condition_bank < self.batch_size:
            raise ValueError(f"condition_bank ({self.condition_bank}) must hold a batch ({self.batch_size})")


@registry.register_family("lpaae", LPAAEConfig)
class LPAAE(ZooModel):
    def __init__(self, config: LPAAEConfig, spec):
        super().__init__(config, spec, *self.plan(config))
        self.num_conditions = {"none": 0, "supervised": spec.num_classes, "unsupervised": config.prior_categories,
                               "embedding": config.embedding_size}[config.conditioning]
        shape = spec.image_shape
        self.encoder = layers.image_encoder(shape, config.architecture, config.widths, {"code": config.code_size})
        self.decoder = layers.image_decoder(config.code_size, shape, config.architecture, config.widths)
        self.image_discriminator = layers.feature_discriminator(shape, config.image_discriminator_widths,
                                                                name="image_discriminator")
        label_aware = config.conditioning in ("supervised", "embedding")
        self.code_discriminator = layers.mlp(config.code_size + (self.num_conditions if label_aware else 0),
                                             config.code_discriminator_widths, 1, "code_discriminator")
        if config.learned_prior:
            self.code_generator = layers.mlp(config.noise_size + self.num_conditions, config.code_generator_widths,
                                             config.code_size, "code_generator", config.code_generator_output)
        if self.num_conditions:
            self.q_network = layers.image_encoder(shape, config.architecture, config.widths,
                                                  {"logits": self.num_conditions}, name="q_network")
        if config.conditioning == "embedding":
            # Written by every training step (the replicas' first copy), read by `condition_sample`.
            self.bank = self.add_weight(shape=(config.condition_bank, config.embedding_size), initializer="zeros",
                                        trainable=False, name="condition_bank", aggregation="only_first_replica")
            self.bank_written = self.add_weight(shape=(), initializer="zeros", trainable=False, dtype="int32",
                                                name="condition_bank_written", aggregation="only_first_replica")

    @classmethod
    def plan(cls, config):
        prior_movers = (("code_generator",) if config.learned_prior else ()) + \
                       (("decoder",) if config.decoder_in_prior_phase else ()) + \
                       (("q_network",) if config.conditioning != "none" else ())
        phases = {"image_discriminator": ("image_discriminator",)}
        names = ("image_discriminator_loss",)
        if prior_movers:
            phases["prior_improvement"] = prior_movers
            names += ("prior_generator_loss",) + (("information_loss",) if config.conditioning != "none" else ())
        phases.update(reconstruction=("encoder", "decoder"), code_discriminator=("code_discriminator",),
                      code_generator=("encoder",))
        return phases, names + ("reconstruction_loss", "code_discriminator_loss", "code_generator_loss")

    @classmethod
    def uses_labels(cls, config) -> bool:
        return config.conditioning == "supervised"

    @classmethod
    def captions(cls, config, split: str):
        if config.conditioning != "embedding":
            return None
        from zoo import data

        captions = data.read_captions(config.embeddings, split)
        if captions.size != config.embedding_size:
            raise ValueError(f"{config.embeddings} holds {captions.size}-D embeddings; the config says "
                             f"embedding_size={config.embedding_size}")
        return captions

    def make_optimizer(self, phase):
        return optimizers.Adam(self.config.learning_rate, beta_1=self.config.beta_1)

    # --- the model ---------------------------------------------------------------------------------
    def encode(self, images, seed=None):
        return {"code": self.encoder(tf.convert_to_tensor(images, tf.float32), training=False)["code"]}

    def decode(self, code):
        return tf.sigmoid(self.decoder(tf.convert_to_tensor(code, tf.float32), training=False))

    def call(self, images, training=False):
        return self.decode(self.encode(images)["code"])

    def condition_sample(self, n, seed):
        """s ~ uniform over the conditions, one-hot [n, K]; for embeddings, uniform over the bank of
        training captions (None without conditioning)."""
        if not self.num_conditions:
            return None
        if self.config.conditioning == "embedding":
            filled = tf.maximum(tf.minimum(self.bank_written, self.config.condition_bank), 1)
            rows = tf.random.stateless_uniform([n], seed, maxval=filled, dtype=tf.int32)
            return tf.gather(tf.convert_to_tensor(self.bank), rows)
        return tf.one_hot(tf.random.stateless_uniform([n], seed, maxval=self.num_conditions, dtype=tf.int32),
                          self.num_conditions)

    def prior_code(self, n, seed, condition=None, training=False):
        """z_c = CG(z, s) with z ~ N(0, I) (z itself without a learned prior); s drawn unless given."""
        seeds = tf.random.experimental.stateless_split(seed, 2)
        z = tf.random.stateless_normal([n, self.config.noise_size if self.config.learned_prior else
                                        self.config.code_size], tf.cast(seeds[0], tf.int32))
        if not self.config.learned_prior:
            return z, None
        if self.num_conditions and condition is None:
            condition = self.condition_sample(n, tf.cast(seeds[1], tf.int32))
        inputs = z if condition is None else tf.concat([z, condition], axis=-1)
        return self.code_generator(inputs, training=training), condition

    def sample(self, n, seed):
        return self.decode(self.prior_code(n, seed)[0])

    def sample_conditional(self, conditions, seed):
        """Images of the given conditions: label indices [n], or embeddings [n, D] (conditioning=embedding)."""
        condition = tf.convert_to_tensor(conditions, tf.float32) if self.config.conditioning == "embedding" else \
            tf.one_hot(conditions, self.num_conditions)
        return self.decode(self.prior_code(tf.shape(condition)[0], seed, condition)[0])

    def endpoints(self):
        endpoints = super().endpoints()
        if self.config.conditioning == "embedding":
            endpoints["sample_conditional"] = (
                lambda embeddings, seed: {"images": self.sample_conditional(embeddings, serving_seed(seed))},
                ["embeddings", "seed"])
        elif self.num_conditions:
            endpoints["sample_conditional"] = (
                lambda labels, seed: {"images": self.sample_conditional(labels, serving_seed(seed))},
                ["labels", "seed"])
        return endpoints

    def serving_specs(self):
        specs = {**super().serving_specs(), "labels": tf.TensorSpec([None], tf.int32, name="labels")}
        if self.config.conditioning == "embedding":
            specs["embeddings"] = tf.TensorSpec([None, self.config.embedding_size], tf.float32, name="embeddings")
        return specs

    # --- training draws ----------------------------------------------------------------------------
    def _train_prior(self, batch, draw, condition=None):
        """This replica's slice of the global prior draw (codes, conditions)."""
        noise_size = self.config.noise_size if self.config.learned_prior else self.config.code_size
        z = self.replica_slice(lambda n: tf.random.stateless_normal([n, noise_size], self.seed(draw)), batch)
        if not self.config.learned_prior:
            return z, None
        if self.num_conditions and condition is None:
            condition = self.replica_slice(lambda n: self.condition_sample(n, self.seed(f"{draw}/condition")), batch)
        inputs = z if condition is None else tf.concat([z, condition], axis=-1)
        return self.code_generator(inputs, training=True), condition

    def _generated(self, batch, draw, condition=None):
        code, condition = self._train_prior(batch, draw, condition)
        return tf.sigmoid(self.decoder(code, training=True)), condition

    def _image_condition(self, data):
        """s for the image GAN's draws: captions come from the batch (there is no prior over
        embeddings); labels and categories are drawn uniformly."""
        return self._data_condition(data) if self.config.conditioning == "embedding" else None

    # --- the phases --------------------------------------------------------------------------------
    def image_discriminator_phase(self, data):
        images = data["image"]
        generated, _ = self._generated(tf.shape(images)[0], "lpaae/prior_noise", self._image_condition(data))
        with tf.GradientTape() as tape:
            loss = losses.discriminator_loss(self.image_discriminator(images, training=True)["logit"],
                                             self.image_discriminator(generated, training=True)["logit"])
        self.apply_phase("image_discriminator", tape, loss)
        return {"image_discriminator_loss": loss}

    def prior_improvement_phase(self, data):
        """Eq. 4: CG (and the decoder, switch C) make G(CG(z)) look real to D_I; + lambda L_I."""
        with tf.GradientTape() as tape:
            generated, condition = self._generated(tf.shape(data["image"])[0], "lpaae/generator_noise",
                                                   self._image_condition(data))
            loss = losses.generator_loss(self.image_discriminator(generated, training=True)["logit"])
            metrics = {"prior_generator_loss": loss}
            if condition is not None:
                logits = self.q_network(generated, training=True)["logits"]
                if self.config.conditioning == "embedding":
                    information = losses.mean(0.5 * tf.reduce_sum(tf.square(logits - condition), axis=-1))
                else:
                    information = losses.softmax_cross_entropy(tf.argmax(condition, axis=-1), logits)
                loss += self.config.info_weight * information
                metrics["information_loss"] = information
        self.apply_phase("prior_improvement", tape, loss)
        return metrics

    def reconstruction_loss(self, images):
        """Eq. 5: the perceptual loss in D_I's last-conv feature space (pixel squared error without
        it), per image, summed over features."""
        reconstructions = tf.sigmoid(self.decoder(self.encoder(images, training=True)["code"], training=True))
        if not self.config.perceptual:
            return losses.mean(tf.reduce_sum(tf.square(reconstructions - images), axis=[1, 2, 3]))
        target = tf.stop_gradient(self.image_discriminator(images, training=False)["features"])
        features = self.image_discriminator(reconstructions, training=False)["features"]
        return losses.mean(tf.reduce_sum(tf.square(features - target), axis=[1, 2, 3]))

    def reconstruction_phase(self, data):
        """Encoder and decoder minimize the reconstruction loss; D_I's weights are not in this phase."""
        with tf.GradientTape() as tape:
            loss = self.reconstruction_loss(data["image"])
        self.apply_phase("reconstruction", tape, loss)
        return {"reconstruction_loss": loss}

    def _code_logits(self, code, condition):
        if self.config.conditioning in ("supervised", "embedding"):
            code = tf.concat([code, condition], axis=-1)
        return self.code_discriminator(code, training=True)

    def _data_condition(self, data):
        """The condition of each x: its one-hot label, or one of its captions drawn for this step."""
        if self.config.conditioning == "supervised":
            return tf.one_hot(data["label"], self.num_conditions)
        if self.config.conditioning != "embedding":
            return None
        captions = data["embedding"]  # [B, C, D]
        pick = self.replica_slice(lambda n: tf.random.stateless_uniform(
            [n], self.seed("lpaae/caption"), maxval=tf.shape(captions)[1], dtype=tf.int32), tf.shape(captions)[0])
        return tf.gather(captions, pick, axis=1, batch_dims=1)

    def _remember(self, condition):
        """Writes this batch's conditions into the bank's next rows (a ring)."""
        rows = (self.bank_written + tf.range(tf.shape(condition)[0])) % self.config.condition_bank
        self.bank.assign(tf.tensor_scatter_nd_update(self.bank, rows[:, None], condition))
        self.bank_written.assign(self.bank_written + tf.shape(condition)[0])

    def code_discriminator_phase(self, data):
        """Eq. 6: D_C learns CG(z[, s]) = 1 (the learned prior) and E(x) = 0."""
        images = data["image"]
        data_condition = self._data_condition(data)
        if self.config.conditioning == "embedding":
            self._remember(data_condition)
        prior, prior_condition = self._train_prior(tf.shape(images)[0], "lpaae/code_noise", data_condition)
        codes = self.encoder(images, training=True)["code"]
        with tf.GradientTape() as tape:
            loss = losses.discriminator_loss(self._code_logits(prior, prior_condition),
                                             self._code_logits(codes, data_condition))
        self.apply_phase("code_discriminator", tape, loss)
        return {"code_discriminator_loss": loss}

    def code_generator_phase(self, data):
        """The encoder's codes are pushed toward D_C's prior label."""
        with tf.GradientTape() as tape:
            codes = self.encoder(data["image"], training=True)["code"]
            loss = losses.generator_loss(self._code_logits(codes, self._data_condition(data)))
        self.apply_phase("code_generator", tape, loss)
        return {"code_generator_loss": loss}


_BASE = LPAAEConfig()
registry.register_preset("lpaae/default", dataclasses.replace(
    _BASE, widths=(32, 64), image_discriminator_widths=(32, 64), code_size=16, noise_size=16, steps=3000,
    image_every=1000))
_TINY = registry.register_preset("lpaae/tiny", configs.tiny(
    _BASE, architecture="mlp", widths=(8,), image_discriminator_widths=(4,), code_generator_widths=(8,),
    code_discriminator_widths=(8,), code_size=3, noise_size=2))
registry.register_preset("lpaae/tiny_supervised", dataclasses.replace(_TINY, conditioning="supervised"))
registry.register_preset("lpaae/tiny_unsupervised", dataclasses.replace(_TINY, conditioning="unsupervised",
                                                                         prior_categories=3))
registry.register_preset("lpaae/fashion_mnist", dataclasses.replace(
    _BASE, dataset="fashion_mnist", steps=3000, checkpoint_every=1000, image_every=1000))
