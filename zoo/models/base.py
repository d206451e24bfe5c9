"""What every family's keras.Model shares: phases with their own optimizers, seeds, metrics.

A family subclasses `ZooModel`, passes its phases (phase -> the sub-model attributes whose weights
that phase moves; each phase gets its own optimizer) and metric names, and writes one method
`<phase>_phase(data) -> {metric: value}` per phase, each with its own tape, ending in
`self.apply_phase(...)`. `train_step` runs the phases in the declared order.

Randomness is stateless: every draw uses `self.seed(name)`, a pair (run seed mixed with the draw's
name, step counter), so a
resumed run draws exactly what an uninterrupted one would, and every replica can derive the same
global-batch draw and keep its own slice (`replica_slice`): under MirroredStrategy each replica sees
different latent / noise samples, and N replicas reproduce one device's numbers.
"""
from __future__ import annotations

import hashlib

import keras
import numpy as np
import tensorflow as tf

from zoo import losses, optimizers


def draw_key(seed: int, name: str) -> int:
    """A non-negative int32 that depends on the run seed and a draw's name only."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:4], "big") >> 1


class ZooModel(keras.Model):
    VALIDATION_METRICS: tuple[str, ...] = ("reconstruction_error",)
    TWO_DOMAINS = False  # True: trains on {"image": domain A, "code_image": domain B} (zoo.data.domains)
    PICTURE_SAMPLES, PICTURE_RECONSTRUCTIONS = 64, 32  # images in the sample / reconstruction grids

    @classmethod
    def uses_labels(cls, config) -> bool:
        """Whether training batches carry every image's "label" (a label-conditional prior)."""
        return False

    @classmethod
    def captions(cls, config, split: str):
        """The caption embeddings (`zoo.data.Captions`) that this split's batches carry as
        "embedding", or None (no caption-conditional prior)."""
        return None

    def __init__(self, config, spec, phases: dict[str, tuple[str, ...]], metric_names: tuple[str, ...]):
        """`phases`: phase -> sub-model attributes it moves, in the order train_step runs them;
        `metric_names`: the training losses train_step reports."""
        # The model itself takes and returns float32; its sub-networks compute in `precision`.
        super().__init__(name=config.model, dtype="float32")
        self.config = config
        self.spec = spec
        self.phases = phases
        self.metric_names = metric_names
        self.trackers = {name: keras.metrics.Mean(name=name) for name in metric_names + self.VALIDATION_METRICS}
        self._seed_step = None  # the step every draw of the current train_step is keyed on

    # --- construction -----------------------------------------------------------------------------
    def make_optimizer(self, phase: str) -> keras.optimizers.Optimizer:
        """Adam per phase; families override to set per-phase learning rates."""
        return optimizers.Adam(self.config.learning_rate)

    def build_for_training(self, jit_compile: bool | None = None) -> None:
        """Builds the sub-models and every phase's optimizer. Call inside `strategy.scope()`: under
        MirroredStrategy, optimizers built lazily inside `train_step` fail ("Unknown variable").
        `jit_compile` (default: the config's) compiles the train step with XLA."""
        self(tf.zeros((1,) + tuple(self.spec.image_shape)))
        self.phase_optimizers = {phase: self.make_optimizer(phase) for phase in self.phases}
        if self.config.precision == "mixed_float16":
            # float16's 5 exponent bits flush small gradients to zero: each phase scales its loss up
            # and its gradients back down, skipping (and halving the scale on) non-finite steps.
            self.phase_optimizers = {phase: optimizers.LossScaleOptimizer(optimizer)
                                     for phase, optimizer in self.phase_optimizers.items()}
        for phase, optimizer in self.phase_optimizers.items():
            optimizer.build(self.phase_variables(phase))
        # compile's optimizer is the first phase's: its iteration count is the model's step counter.
        first = next(iter(self.phase_optimizers.values()))
        self.compile(optimizer=first, jit_compile=self.config.jit_compile if jit_compile is None else jit_compile)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras (3.15) peeks at the first batch and averages it with `strategy.reduce`, which
        # MultiWorkerMirroredStrategy refuses for a dict of per-replica tensors once there are two
        # workers. The peek only serves to build the model, its compiled metrics and optimizer, and
        # `build_for_training` has built all of those already.
        if not self._multi_worker():
            super()._maybe_symbolic_build(iterator, data_batch)

    def phase_variables(self, phase: str) -> list:
        seen, variables = set(), []
        for attribute in self.phases[phase]:
            for variable in getattr(self, attribute).trainable_variables:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    variables.append(variable)
        return variables

    def checkpoint_items(self) -> dict:
        """What a checkpoint holds: every weight by path, and each phase's optimizer state."""
        weights = {v.path.replace("/", "."): v for v in self.weights}
        return {"weights": weights, "optimizers": dict(self.phase_optimizers)}

    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def step_counter(self) -> tf.Variable:
        return self.optimizer.iterations

    # --- randomness -------------------------------------------------------------------------------
    def seed(self, name: str) -> tf.Tensor:
        """Stateless seed for one draw: (a hash of the run seed and the draw's name, step). Names
        ("aae/prior_z") keep draws apart without numbering them by hand; SHA-256 makes the pair the
        same on every run, platform and Python version."""
        step = self._seed_step if self._seed_step is not None else tf.cast(self.step_counter, tf.int32)
        return tf.stack([tf.constant(draw_key(self.config.seed, name), tf.int32), step])

    @staticmethod
    def replica_slice(draw, local_batch) -> tf.Tensor:
        """Draws for the global batch with `draw(n)` and keeps this replica's rows, so the samples
        match the ones a single device would use for the same examples."""
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context else 1
        replica = context.replica_id_in_sync_group if context else 0
        samples = draw(local_batch * replicas)
        return samples[replica * local_batch:(replica + 1) * local_batch]

    # --- phases -----------------------------------------------------------------------------------
    def apply_phase(self, phase: str, tape: tf.GradientTape, loss: tf.Tensor) -> None:
        """One optimizer step of `phase` on the variables that phase owns, with per-replica scaling."""
        variables = self.phase_variables(phase)
        optimizer = self.phase_optimizers[phase]
        with tape:  # the scaling must be recorded too
            scaled = losses.for_gradient(loss)
            if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                scaled = optimizer.scale_loss(scaled)  # its apply_gradients divides the scale out again
        gradients = tape.gradient(scaled, variables)
        pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
        optimizer.apply_gradients(pairs)

    def track(self, **values) -> None:
        for name, value in values.items():
            self.trackers[name].update_state(value)

    def train_step(self, data):
        # Read once, before any phase's optimizer increments it: every replica keys the step's draws
        # on the same value, whatever order the replicas' reads and updates run in.
        self._seed_step = tf.cast(tf.identity(self.step_counter), tf.int32)
        try:
            for phase in self.phases:
                self.track(**getattr(self, f"{phase}_phase")(data))
        finally:
            self._seed_step = None
        return self.results(self.metric_names)

    def results(self, names) -> dict:
        results = {name: self.trackers[name].result() for name in names}
        if self._multi_worker():
            # Keras averages step outputs across workers with strategy.reduce(axis=0), which needs
            # an axis to reduce: give each scalar one (it comes back a scalar).
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def _multi_worker(self) -> bool:
        return isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy)

    def test_step(self, data):
        """Validation metrics (the tuner's objectives): never a GAN loss."""
        errors = self.validation_errors(data["image"], seed=tf.constant([0, 0], tf.int32))
        self.track(**{name: tf.reduce_mean(value) for name, value in errors.items()})
        return self.results(self.VALIDATION_METRICS)

    def validation_errors(self, images, seed) -> dict:
        """name -> per-example value for every VALIDATION_METRICS entry (lower is better); the
        default is the autoencoder's mean squared reconstruction error per pixel."""
        reconstruction = self.reconstruct(images, seed)
        return {"reconstruction_error": tf.reduce_mean(tf.square(images - reconstruction), axis=[1, 2, 3])}

    def sample_metrics(self, seed) -> dict:
        """name -> value measured on the model's own samples, for `zoo.evaluation`; none by default."""
        return {}

    def traced(self, method: str):
        """`getattr(self, method)` as a tf.function, traced once per model (samplers loop over
        pixels: eagerly that would be one Python iteration per pixel)."""
        cache = self.__dict__.setdefault("_compiled_methods", {})
        if method not in cache:
            cache[method] = tf.function(getattr(self, method))
        return cache[method]

    def pictures(self, images, labels, seed, title: str) -> dict:
        """name -> uint8 picture for TensorBoard and images/: samples, reconstructions of
        validation images, the latent space coloured by label, and clusters for categorical codes."""
        from zoo import visualize

        n = self.PICTURE_RECONSTRUCTIONS
        pictures = {
            "samples": visualize.grid(self.traced("sample")(self.PICTURE_SAMPLES, seed).numpy(), columns=8),
            "reconstructions": visualize.pairs(images[:n], self.traced("reconstruct")(images[:n], seed).numpy()),
            "latent": visualize.latent_scatter(self.latent(images, seed).numpy(), labels, title),
        }
        if getattr(self.config, "num_clusters", 0):
            clusters = np.argmax(self.classify(images, seed).numpy(), axis=1)
            pictures["clusters"] = visualize.cluster_label_heatmap(
                clusters, labels, self.config.num_clusters, f"validation clusters, {title}")
        return pictures

    # --- what users do with a trained model -------------------------------------------------------
    # Families define encode(images, seed) -> dict with "code", decode(code) -> images in [0, 1] and
    # sample(n, seed) -> images; these two follow from them.
    def reconstruct(self, images, seed):
        return self.decode(self.encode(images, seed)["code"])

    def latent(self, images, seed):
        """The continuous code plotted in latent-space figures."""
        return self.encode(images, seed)["code"]

    # --- serving ----------------------------------------------------------------------------------
    def code_size(self) -> int:
        return int(self.encode(tf.zeros((1,) + tuple(self.spec.image_shape)),
                               tf.zeros([2], tf.int32))["code"].shape[-1])

    def serving_specs(self) -> dict:
        """The inputs endpoints take, by name. `seed` is int32 of length 2 (reproducible draws) or 0
        (fresh randomness): a SavedModel signature has no optional inputs, so an empty seed is the
        way to leave it out."""
        return {"images": tf.TensorSpec([None, *self.spec.image_shape], tf.float32, name="images"),
                "seed": tf.TensorSpec([None], tf.int32, name="seed"),
                "code": tf.TensorSpec([None, self.code_size()], tf.float32, name="code"),
                "n": tf.TensorSpec([], tf.int32, name="n")}

    def endpoints(self) -> dict:
        """name -> (function, input names) for every thing a user does with a trained model;
        `zoo.export.saved_model` writes one SavedModel signature per entry, inputs typed by
        `serving_specs`, outputs named by the dict keys the function returns. Families extend this
        with their own (the AAE adds `classify`)."""
        return {
            "encode": (lambda images, seed: {"code": self.encode(images, serving_seed(seed))["code"]},
                       ["images", "seed"]),
            "decode": (lambda code: {"images": self.decode(code)}, ["code"]),
            "sample": (lambda n, seed: {"images": self.sample(n, serving_seed(seed))}, ["n", "seed"]),
            "reconstruct": (lambda images, seed: {"images": self.reconstruct(images, serving_seed(seed))},
                            ["images", "seed"]),
        }


def serving_seed(seed: tf.Tensor) -> tf.Tensor:
    """An endpoint's seed input as a stateless seed: [a, b] as given, [] a fresh random pair."""
    size = tf.size(seed)
    tf.debugging.Assert(tf.logical_or(tf.equal(size, 0), tf.equal(size, 2)), ["seed must have 0 or 2 elements"])
    # The clock makes fresh draws differ across processes too: a stateful op alone repeats its
    # sequence every time the SavedModel is loaded, its op seed being fixed at export.
    microseconds = tf.cast(tf.math.floormod(tf.timestamp() * 1e6, float(tf.int32.max)), tf.int32)
    fresh = tf.stack([microseconds, tf.random.uniform([], maxval=tf.int32.max, dtype=tf.int32)])
    return tf.concat([seed, fresh], axis=0)[:2]
