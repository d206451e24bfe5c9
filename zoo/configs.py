"""Frozen dataclass configs: one base with the training fields, one subclass per model family.

Presets derive from a family's base config with `dataclasses.replace` (`tiny` for the tiny presets
every family has); user overrides come as `key=value` strings parsed as literals of the field's
declared type (never evaluated as code), or as a plain JSON file. `zoo.registry.resolve` is the one
place a config is assembled from those sources.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, ClassVar


# --- search spaces: what `zoo.tune` may vary. Plain data here; zoo.tuning maps them to Keras Tuner.
@dataclasses.dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False  # sample uniformly in log space (low must be > 0)


@dataclasses.dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False


@dataclasses.dataclass(frozen=True)
class Choice:
    values: tuple


@dataclasses.dataclass(frozen=True)
class Config:
    """Fields every family shares: which model on which data, and how to train it.

    A family declares its search space in `TUNABLE` (field -> IntRange / FloatRange / Choice) and
    the fields tuned when none are named in `DEFAULT_TUNE`; `zoo.tune` needs nothing else."""

    TUNABLE: ClassVar[dict] = {"batch_size": Choice((32, 64, 100, 128))}
    DEFAULT_TUNE: ClassVar[tuple[str, ...]] = ()

    model: str = ""
    dataset: str = "digits"
    data_dir: str = ""  # tfds data directory (prepared records); "" = tfds default
    source_dir: str = ""  # directory of raw files our builders read (IDX files, archives)
    image_size: int = 0  # 0 = the dataset's native size
    classes: tuple[int, ...] = ()  # keep only these labels, relabeled 0..k-1 in this order; () = all
    batch_size: int = 100
    steps: int = 2000
    seed: int = 0
    jit_compile: bool = True
    log_every: int = 100  # steps per progress-bar chunk and per TensorBoard scalar point
    checkpoint_every: int = 500  # multiple of log_every
    image_every: int = 1000  # multiple of log_every; image grids and latent plots
    max_checkpoints: int = 3
    # Arithmetic of the layers (Keras's dtype policy): "float32"; "mixed_bfloat16" (bfloat16 compute,
    # float32 variables, losses and outputs; CPUs with AVX-512 bfloat16, TPUs, recent GPUs); or
    # "mixed_float16" (the same in float16, with dynamic loss scaling; GPUs).
    precision: str = "float32"

    PRECISIONS: ClassVar[tuple[str, ...]] = ("float32", "mixed_bfloat16", "mixed_float16")

    def validate(self) -> None:
        """Raises ValueError for settings that cannot work together; called before building."""
        check_choice("precision", self.precision, self.PRECISIONS)
        positive = ("batch_size", "steps", "log_every", "checkpoint_every", "image_every")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("checkpoint_every", "image_every"):
            if getattr(self, name) % self.log_every:
                raise ValueError(f"{name}={getattr(self, name)} must be a multiple of log_every={self.log_every}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class SemiSupervised:
    """The part of a config whose family has a semi-supervised phase (put it before the family's
    base in the bases): training zips labeled minibatches of a fixed class-balanced subset into
    every batch (`zoo.training.train_dataset`)."""

    num_labels: int = 0  # labeled examples for semi-supervised training; 0 = unsupervised
    labeled_batch_size: int = 100

    def validate(self) -> None:
        super().validate()
        if self.num_labels < 0:
            raise ValueError(f"num_labels must be >= 0, got {self.num_labels}")
        if self.labeled_batch_size <= 0:
            raise ValueError(f"labeled_batch_size must be positive, got {self.labeled_batch_size}")


def num_labels(config: Config) -> int:
    """The config's labeled examples: 0 for a family without a semi-supervised phase."""
    return getattr(config, "num_labels", 0)


# What makes a preset tiny: a few steps of batch 2 that log, checkpoint and draw pictures, no XLA.
TINY_TRAINING = dict(batch_size=2, steps=4, log_every=2, checkpoint_every=2, image_every=2, jit_compile=False)


def tiny(base: Config, **changes: Any) -> Config:
    """A `<family>/tiny` preset: `base` with small widths (`changes`) and TINY_TRAINING; labeled
    batches of 2 where the config has them."""
    labeled = {"labeled_batch_size": 2} if "labeled_batch_size" in {f.name for f in dataclasses.fields(base)} else {}
    return dataclasses.replace(base, **{**TINY_TRAINING, **labeled, **changes})


def check_choice(kind: str, value: Any, known, label: str = "known") -> None:
    """The one check of a name against the names known: raises ValueError
    "unknown <kind> '<value>'; <label>: a, b" when `value` is not one of `known`."""
    known = list(known)
    if value not in known:
        raise ValueError(f"unknown {kind} '{value}'; {label}: {', '.join(map(str, known))}")


def field_types(config_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(config_cls)


def parse_value(text: str, kind: Any, key: str) -> Any:
    """Parses one `--set` value as a literal of the field's type: int, float, bool, str or a tuple."""
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            return lowered in ("true", "1")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is str:
            return text
        if origin is tuple:
            (item,) = set(typing.get_args(kind)) - {Ellipsis}
            parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
            return tuple(parse_value(p.strip(), item, key) for p in parts)
    except ValueError as error:
        raise ValueError(f"--set {key}={text!r}: cannot parse as {getattr(kind, '__name__', kind)} ({error})") from None
    raise TypeError(f"field {key} has unsupported type {kind}")


def _coerce_json_value(value: Any, kind: Any, key: str) -> Any:
    """JSON gives lists for tuples and ints for floats; anything else must match the field type."""
    if typing.get_origin(kind) is tuple and isinstance(value, list):
        (item,) = set(typing.get_args(kind)) - {Ellipsis}
        return tuple(_coerce_json_value(v, item, key) for v in value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, str, bool) and type(value) is not kind:
        raise ValueError(f"config key {key!r}: expected {kind.__name__}, got {value!r}")
    return value


def replace(config: Config, **changes: Any) -> Config:
    """dataclasses.replace that names the valid keys when one is unknown."""
    known = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {', '.join(unknown)} for model '{config.model}'; "
            f"known keys: {', '.join(sorted(known))}")
    return dataclasses.replace(config, **changes)


def apply_overrides(config: Config, assignments: list[str]) -> Config:
    """Applies `key=value` strings (the `--set` flag) in order."""
    types = field_types(type(config))
    changes = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--set expects key=value, got {assignment!r}")
        if key not in types:
            replace(config, **{key: None})  # raises the unknown-key error listing known keys
        changes[key] = parse_value(text, types[key], key)
    return replace(config, **changes)


# Fields that some families carried without reading them until 2026-12-02: a config.json written
# before then still loads (what they held never changed a run).
RETIRED_FIELDS = ("num_labels", "labeled_batch_size", "reconstruction_loss", "optimizer", "learning_rate")


def from_json_dict(config_cls: type, data: dict) -> Config:
    types = field_types(config_cls)
    data = {k: v for k, v in data.items() if k in types or k not in RETIRED_FIELDS}
    unknown = sorted(set(data) - set(types))
    if unknown:
        raise ValueError(f"unknown config key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(types))}")
    return config_cls(**{k: _coerce_json_value(v, types[k], k) for k, v in data.items()})
