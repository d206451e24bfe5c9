"""`run(config, workdir, strategy)`: the one training function behind `zoo.train`, the tuner,
experiments and tests.

A run lives in its workdir: `config.json` (the resolved config), `checkpoints/` (weights, every
phase's optimizer state and so the step), `tensorboard/` (scalars, image grids, latent plots),
`images/` (the same pictures as PNG) and `metrics.jsonl`. Started again on the same workdir it
resumes from the last checkpoint: the data stream continues where the checkpoint left it and every
random draw is keyed on (seed, step), so a resumed run ends with the weights an uninterrupted one
would have; what was logged after that checkpoint is dropped from `metrics.jsonl` and TensorBoard
before it is logged again. One process at a time trains in a workdir (`WorkdirBusyError`). A
non-finite loss stops training and keeps the last good checkpoint.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import functools
import glob
import json
import math
import os
import socket
import sys
import time

import keras
import tensorflow as tf

from zoo import configs, data, registry, visualize


class NonFiniteLossError(RuntimeError):
    """Training produced NaN or infinity; the workdir keeps the last good checkpoint."""


class WorkdirBusyError(RuntimeError):
    """Another live process is training in this workdir."""


LOCK_FILE = ".lock"


@contextlib.contextmanager
def hold_workdir(workdir: str):
    """An exclusive lock on the workdir for as long as this process trains in it. The kernel drops
    it when the holder exits however it exits (kill -9 included), so a lock file left behind by a
    dead process blocks nothing; the file only says who holds the lock, for the error message."""
    path = os.path.join(workdir, LOCK_FILE)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise WorkdirBusyError(f"{workdir} is in use: {holder} is training in it; wait for it to end "
                                   "or use another --workdir") from None
        f.seek(0)
        f.truncate()
        started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        f.write(f"process {os.getpid()} on {socket.gethostname()} (since {started})\n")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)


# Settings that may change between a run and its resumption (the rest must match config.json).
RESUMABLE_CHANGES = ("steps", "log_every", "checkpoint_every", "image_every", "max_checkpoints", "jit_compile")


def make_strategy(name: str = "default", cpu_replicas: int = 0) -> tf.distribute.Strategy:
    """The distribution strategy by name. `cpu_replicas > 1` splits the CPU into that many logical
    devices, so that MirroredStrategy really runs its multi-replica path on a machine without GPUs;
    it must be set before TensorFlow initializes its devices."""
    configs.check_choice("strategy", name, ("default", "mirrored", "multiworker"))
    cpu = tf.config.list_physical_devices("CPU")[0]
    # (Listing logical devices would initialize them: read the configuration instead.)
    if cpu_replicas > 1 and len(tf.config.get_logical_device_configuration(cpu) or [None]) < cpu_replicas:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)
        except RuntimeError:
            raise ValueError("--cpu_replicas must be set before TensorFlow initializes its devices") from None
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = ([d.name for d in gpus]
                   or [d.name for d in tf.config.list_logical_devices("CPU")[:max(cpu_replicas, 1)]])
        return _mirrored(tuple(devices))
    return _multiworker()


# One strategy object per device set and process: a second MirroredStrategy over the same devices
# reuses collective instance keys and its all-reduces fail with shape mismatches.
@functools.cache
def _mirrored(devices: tuple[str, ...]) -> tf.distribute.Strategy:
    return tf.distribute.MirroredStrategy(list(devices))


@functools.cache
def _multiworker() -> tf.distribute.Strategy:
    return tf.distribute.MultiWorkerMirroredStrategy()


def data_options(config) -> dict:
    return dict(data_dir=config.data_dir or None, source_dir=config.source_dir or None,
                image_size=config.image_size or None, classes=config.classes or None)


def train_dataset(config, start_step: int = 0) -> tf.data.Dataset:
    """Unlabeled global batches {"image"}; with num_labels, zipped with labeled batches of a fixed
    class-balanced subset {"labeled_image", "labeled_label"}. Labels of the unlabeled stream are
    dropped here, so no phase can read them, unless the family trains on every label
    (`uses_labels`). Two-domain families get `unpaired_dataset`. The stream is a function of the
    config's seed; `start_step` starts it at the batch that step would read (resuming)."""
    options = data_options(config)
    model_cls = registry.family(config.model).model_cls
    if model_cls.TWO_DOMAINS:
        return _shard_by_data(unpaired_dataset(config, start_step))
    # Only families that train on every label (a label-conditional prior) see the labels; only
    # caption-conditional ones the captions.
    unlabeled = data.load(config.dataset, "train", batch_size=config.batch_size, shuffle=True, repeat=True,
                          seed=config.seed, drop_remainder=True, with_labels=model_cls.uses_labels(config),
                          captions=model_cls.captions(config, "train"), skip_batches=start_step, **options)
    if not configs.num_labels(config):
        return _shard_by_data(unlabeled)
    subset = data.labeled_subset(config.dataset, configs.num_labels(config), seed=config.seed, **options)
    labeled = data.shuffle_batches(tf.data.Dataset.from_tensor_slices(subset), config.seed, repeat=True,
                                   batch_size=config.labeled_batch_size, drop_remainder=True,
                                   skip_batches=start_step)
    return _shard_by_data(tf.data.Dataset.zip(unlabeled, labeled).map(
        lambda u, lab: {"image": u["image"], "labeled_image": lab["image"], "labeled_label": lab["label"]},
        num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))


def unpaired_dataset(config, start_step: int = 0) -> tf.data.Dataset:
    """Global batches {"image": domain A (label 0), "code_image": domain B (label 1)} of a two-domain
    dataset (`zoo.data.domains`), each domain in its own seeded order: the pairs are never the
    dataset's own (unpaired translation)."""
    a, b = (data.load(config.dataset, "train", batch_size=config.batch_size, shuffle=True, repeat=True,
                      seed=config.seed + 7919 * domain, drop_remainder=True, with_labels=False, label=domain,
                      skip_batches=start_step, **data_options(config)) for domain in (0, 1))
    return tf.data.Dataset.zip(a, b).map(lambda a, b: {"image": a["image"], "code_image": b["image"]},
                                         num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Several workers each read the same seeded stream and keep their part of every global batch
    (tf.data's DATA sharding): file sharding would give workers different example orders."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def worker_dir(workdir: str, strategy) -> str:
    """Where this process writes: the workdir for the chief (and for every single-worker strategy);
    `<workdir>/workers/<index>` for the other workers of a MultiWorkerMirroredStrategy, which must
    save checkpoints too (saving is a collective operation) but not over the chief's files."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return workdir
    task_type, task_id = resolver.task_type, resolver.task_id
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0
                                     and "chief" not in resolver.cluster_spec().jobs)
    return workdir if chief else os.path.join(workdir, "workers", f"{task_type}_{task_id}")


def build(config, strategy=None):
    """(spec, model) with the model and all its optimizers built inside the strategy's scope."""
    spec = data.spec(config.dataset, **data_options(config))
    strategy = strategy or tf.distribute.get_strategy()
    # Seeded here, after data preparation (which may draw random numbers): initial weights are a
    # function of config.seed alone.
    keras.utils.set_random_seed(config.seed)
    jit_compile = config.jit_compile
    devices = strategy.extended.worker_devices if strategy.num_replicas_in_sync > 1 else ()
    if jit_compile and len(devices) > 1 and all("CPU" in d.upper() for d in devices):
        # XLA cannot run one step over variables spread across logical CPU devices ("Trying to
        # access resource ... located in device CPU:1 from device CPU:0"); GPUs are unaffected.
        print("note: XLA is off for MirroredStrategy over logical CPU devices (random draws then follow the "
              "plain kernels, whose stateless algorithm differs from XLA's)")
        jit_compile = False
    # Layers take the dtype policy in force when they are made: the config's, for this model only.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.precision)
    try:
        with strategy.scope():
            model = registry.build_model(config, spec)
            model.build_for_training(jit_compile)
    finally:
        keras.config.set_dtype_policy(previous)
    return spec, model


def checkpoint_manager(model, workdir: str, max_to_keep: int = 3) -> tf.train.CheckpointManager:
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    return tf.train.CheckpointManager(checkpoint, os.path.join(workdir, "checkpoints"), max_to_keep=max_to_keep)


def restore(workdir: str, strategy=None):
    """(config, spec, model) of a workdir, with its latest checkpoint loaded."""
    config = read_config(workdir)
    spec, model = build(config, strategy)
    manager = checkpoint_manager(model, workdir)
    if not manager.latest_checkpoint:
        raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints: train first")
    manager.checkpoint.restore(manager.latest_checkpoint).expect_partial()
    return config, spec, model


def read_config(workdir: str):
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {workdir} a zoo workdir?")
    return registry.config_from_file(path)


def _write_config(config, workdir: str) -> None:
    path = os.path.join(workdir, "config.json")
    if os.path.exists(path):
        previous = registry.config_from_file(path)
        differing = sorted(f.name for f in dataclasses.fields(config)
                           if getattr(config, f.name) != getattr(previous, f.name) and f.name not in RESUMABLE_CHANGES)
        if type(previous) is not type(config) or differing:
            raise ValueError(f"{workdir} holds a run with a different config ({', '.join(differing) or 'model'}); "
                             "use another --workdir")
    with open(path, "w") as f:
        f.write(config.to_json())


class Monitor(keras.callbacks.Callback):
    """Per chunk of `log_every` steps: non-finite check, scalars, checkpoints, pictures; stops at
    exactly `config.steps`."""

    def __init__(self, config, workdir, manager, start_step, preview):
        super().__init__()
        self.config, self.workdir, self.manager = config, workdir, manager
        self.step = start_step
        self.preview = preview  # validation images and labels for reconstructions and latent plots
        self.writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
        self.failure = None
        self.last_logs = {}
        os.makedirs(os.path.join(workdir, "images"), exist_ok=True)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step >= self.config.steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        bad = {k: v for k, v in logs.items() if not math.isfinite(v)}
        if bad:
            self.failure = (f"non-finite loss at step {self.step} ({', '.join(f'{k}={v}' for k, v in bad.items())}); "
                            f"training stopped, the last good checkpoint is kept: "
                            f"{self.manager.latest_checkpoint or 'none was written yet'}")
            self.model.stop_training = True
            return
        self.last_logs = logs
        with self.writer.as_default(step=self.step):
            for name, value in logs.items():
                tf.summary.scalar(name, value)
        with open(os.path.join(self.workdir, "metrics.jsonl"), "a") as f:
            f.write(json.dumps({"step": self.step, **logs}) + "\n")
        done = self.step >= self.config.steps
        if done or self.step % self.config.checkpoint_every == 0:
            self.manager.save(checkpoint_number=self.step)
        if done or self.step % self.config.image_every == 0:
            self.write_pictures()

    def write_pictures(self) -> None:
        seed = tf.constant([self.config.seed, 0], tf.int32)
        pictures = self.model.pictures(self.preview["image"], self.preview["label"], seed, f"step {self.step}")
        with self.writer.as_default(step=self.step):
            for name, picture in pictures.items():
                tf.summary.image(name, picture[None])
                visualize.save_png(picture, os.path.join(self.workdir, "images", f"{name}.png"))


def _forget_after(workdir: str, step: int) -> None:
    """Drops what a previous process logged after `step` (the checkpoint a run resumes from) from
    metrics.jsonl and the TensorBoard event files, so that every step is logged once; a record
    that a killed process left half-written goes too."""
    path = os.path.join(workdir, "metrics.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            lines = [line for line in f if line.endswith("\n") and _logged_step(line) <= step]
        with open(path, "w") as f:
            f.writelines(lines)
    for events_file in glob.glob(os.path.join(workdir, "tensorboard", "events.out.tfevents.*")):
        events = []
        try:
            for record in tf.data.TFRecordDataset(events_file):
                events.append(tf.compat.v1.Event.FromString(record.numpy()))
        except tf.errors.DataLossError:
            pass  # cut off by a killed process: what was read before stays
        kept = [event for event in events if event.step <= step]
        if len(kept) < len(events) or os.path.getsize(events_file) != sum(16 + e.ByteSize() for e in events):
            with tf.io.TFRecordWriter(events_file) as writer:
                for event in kept:
                    writer.write(event.SerializeToString())


def _logged_step(line: str) -> float:
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf  # not a whole record


class Progress(keras.callbacks.Callback):
    """Step-based progress: on a terminal one live line (step / total, bar, steps/s, ETA, the
    running losses); otherwise one line per `log_every` steps. Writes nothing anywhere else."""

    REDRAW_S = 0.25

    def __init__(self, start_step: int, total: int, live: bool, stream=None):
        super().__init__()
        self.step, self.total, self.live = start_step, total, live
        self.stream = stream or sys.stdout
        self.mark = self.last_draw = None

    def on_train_begin(self, logs=None):
        self.mark = (time.monotonic(), self.step)
        self.last_draw = 0.0

    def _line(self, logs) -> str:
        now, (then, then_step) = time.monotonic(), self.mark
        rate = (self.step - then_step) / max(now - then, 1e-9)
        eta = datetime.timedelta(seconds=round((self.total - self.step) / rate)) if rate > 0 else "?"
        losses = "  ".join(f"{k}={float(v):.4f}" for k, v in sorted((logs or {}).items()))
        bar = ""
        if self.live:
            filled = int(20 * self.step / max(self.total, 1))
            bar = f" [{'#' * filled}{'.' * (20 - filled)}]"
        return f"step {self.step}/{self.total}{bar}  {rate:.1f} steps/s  ETA {eta}  {losses}"

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.live and time.monotonic() - self.last_draw >= self.REDRAW_S:
            self.stream.write("\r\033[K" + self._line(logs))
            self.stream.flush()
            self.last_draw = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        line = self._line(logs)
        self.stream.write(("\r\033[K" + line) if self.live else line + "\n")
        self.stream.flush()
        self.mark = (time.monotonic(), self.step)

    def on_train_end(self, logs=None):
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def run(config, workdir: str, strategy=None, verbose: int | str = "auto") -> dict:
    """Trains `config` in `workdir` (resuming what is there) and returns the last chunk's mean losses.
    `verbose`: "auto" (a live progress line on a terminal, else a line per `log_every` steps),
    1 (live), 2 (lines) or 0 (silent)."""
    config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    run_dir, workdir = workdir, worker_dir(workdir, strategy)
    os.makedirs(workdir, exist_ok=True)
    with hold_workdir(workdir):
        return _run(config, run_dir, workdir, strategy, verbose)


def _run(config, run_dir: str, workdir: str, strategy, verbose) -> dict:
    _write_config(config, workdir)
    spec, model = build(config, strategy)
    manager = checkpoint_manager(model, workdir, config.max_checkpoints)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))  # every worker resumes from the chief's
    if latest:
        manager.checkpoint.restore(latest).assert_existing_objects_matched()
    start = int(model.step_counter.numpy())
    if start >= config.steps:
        print(f"{workdir} is already trained to step {start} (steps={config.steps})")
        return {}
    _forget_after(workdir, start)
    if start:
        print(f"resuming {workdir} from step {start}")
    dataset = train_dataset(config, start_step=start)
    preview = data.arrays(config.dataset, "validation", limit=1000, **data_options(config))
    callbacks = [Monitor(config, workdir, manager, start, preview)]
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    if verbose:
        callbacks.append(Progress(start, config.steps, live=verbose == 1))
    chunks = math.ceil((config.steps - start) / config.log_every)
    model.fit(dataset, epochs=chunks, steps_per_epoch=config.log_every, callbacks=callbacks, verbose=0,
              shuffle=False)
    if callbacks[0].failure:
        raise NonFiniteLossError(callbacks[0].failure)
    return callbacks[0].last_logs
