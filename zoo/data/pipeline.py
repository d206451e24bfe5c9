"""The input pipeline: a dataset name -> its prepared builder, spec, arrays and tf.data batches.
See `zoo.data` for the datasets, splits and sources."""
from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from zoo import configs
from zoo.data import builders, domains  # noqa: F401  (domains registers its builders)
from zoo.data.idx import DataFormatError, DataNotFoundError

SPLITS = ("train", "validation", "test")
_ARRAY_BATCH = 4096


@dataclasses.dataclass(frozen=True)
class _Source:
    """Where a dataset comes from and how its features map to image / label."""

    builder: str | None                # TFDS catalog (or own) builder name
    validation: int | str = 5000       # size of the tail held out of "train", or the name of its own split
    label: tuple[str, ...] = ("label",)  # path to the label inside the example
    idx_config: str | None = None      # read from IDX files (always when `builder` is None, else with source_dir)
    manual: bool = False               # our builder reads `source_dir` (default: idx_config's, else tfds's manual dir)


_SOURCES = {
    "digits": _Source("zoo_digits", validation=200),
    "fashion_mnist": _Source(None, idx_config="fashion_mnist"),
    "mnist": _Source("mnist", idx_config="mnist"),
    "svhn_cropped": _Source("svhn_cropped"),
    "smallnorb": _Source("smallnorb", label=("label_category",)),
    "cifar10": _Source("cifar10"),
    # CelebA has no class label: the binary attribute `Male` stands in for one.
    "celeb_a": _Source("celeb_a", validation="validation", label=("attributes", "Male")),
    # Its train split has only 1,020 images: use its own validation split.
    "oxford_flowers102": _Source("oxford_flowers102", validation="validation"),
    # Two domains, label = domain (zoo.data.domains): 0 = images (shoes), 1 = edge maps.
    "fashion_edges2shoes": _Source("zoo_edge_pairs/fashion_shoes", idx_config="fashion_mnist", manual=True),
    "mnist_edges": _Source("zoo_edge_pairs/mnist", idx_config="mnist", manual=True),
    "digits_edges": _Source("zoo_edge_pairs/digits", validation=200, manual=True),
    "edges2shoes": _Source("zoo_edges2shoes", manual=True),
}
DATASETS: tuple[str, ...] = tuple(_SOURCES)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Static description of a dataset as `load` / `arrays` deliver it."""

    name: str
    image_shape: tuple[int, int, int]  # (H, W, C) after any resize
    num_classes: int
    num_examples: dict[str, int]       # per split: "train", "validation", "test"
    normalization: dict                # model_input = uint8 * scale + offset
    label_names: tuple[str, ...] = ()  # class names where the dataset has them


_NORMALIZATION = {"scale": 1.0 / 255.0, "offset": 0.0}


def _source(name: str) -> _Source:
    configs.check_choice("dataset", name, DATASETS, "known datasets")
    return _SOURCES[name]


def _num_examples(builder, expr: str) -> int:
    try:
        return builder.info.splits[expr].num_examples
    except KeyError:  # no split metadata, e.g. under tfds.testing.mock_data
        return int(builder.as_dataset(split=expr).cardinality())


def _split_exprs(builder, src: _Source) -> dict[str, str]:
    """TFDS split (slice) expressions of our three splits."""
    if isinstance(src.validation, str):
        return {"train": "train", "validation": src.validation, "test": "test"}
    # At most a fifth of "train" is held out, so tiny stand-in data keeps both splits.
    tail = max(1, min(src.validation, _num_examples(builder, "train") // 5))
    return {"train": f"train[:-{tail}]", "validation": f"train[-{tail}:]", "test": "test"}


def _prepared_builder(src: _Source, data_dir, source_dir):
    """The (prepared) TFDS builder of a dataset; `source_dir` only matters for IDX datasets."""
    config = builders.IDX_CONFIGS.get(src.idx_config)
    hint = ""
    if src.manual:
        builder_name = src.builder
        if source_dir is None and config:
            source_dir = config.default_source_dir
    elif config and (source_dir is not None or src.builder is None):
        builder_name = f"zoo_idx_images/{config.name}"
        source_dir = config.default_source_dir if source_dir is None else os.fspath(source_dir)
    else:
        builder_name, source_dir = src.builder, None
        if config:
            hint = (
                f"Or pass `--set source_dir=DIR` for a directory holding the four {config.title} "
                f"IDX files ({config.homepage})."
            )
    data_dir = None if data_dir is None else os.fspath(data_dir)
    return builders.prepare(tfds.builder(builder_name, data_dir=data_dir), source_dir=source_dir, hint=hint)


def _label_feature(features, path: tuple[str, ...]):
    for key in path:
        features = features[key]
    return features


@dataclasses.dataclass(frozen=True)
class _Opened:
    """A prepared dataset: its builder, the TFDS expressions of our splits, its spec."""

    src: _Source
    builder: tfds.core.DatasetBuilder
    splits: dict[str, str]
    spec: DatasetSpec
    label_map: tuple[int, ...] | None = None  # original label -> kept class index or -1


def _label_map(classes, num_classes: int, name: str) -> tuple[int, ...] | None:
    """Original label -> index in `classes` (-1 = dropped), or None to keep every class."""
    if not classes:
        return None
    classes = tuple(int(c) for c in classes)
    if len(set(classes)) != len(classes) or len(classes) < 2 or not all(0 <= c < num_classes for c in classes):
        raise ValueError(f"classes must be two or more distinct labels of {name} (0..{num_classes - 1}), "
                         f"got {list(classes)}")
    mapping = [-1] * num_classes
    for index, c in enumerate(classes):
        mapping[c] = index
    return tuple(mapping)


_KEPT_COUNTS: dict[tuple, int] = {}


def _count_kept(builder, expr: str, label_path: tuple[str, ...], label_map: tuple[int, ...]) -> int:
    """Examples of a split whose label is kept (reads the labels only; once per process)."""
    key = (builder.data_dir, expr, label_path, label_map)
    if key not in _KEPT_COUNTS:
        _KEPT_COUNTS[key] = _count_labels(builder, expr, label_path, label_map)
    return _KEPT_COUNTS[key]


def _count_labels(builder, expr, label_path, label_map) -> int:
    ds = builder.as_dataset(split=expr, shuffle_files=False,
                            decoders=tfds.decode.PartialDecoding(_label_decoder(label_path)))
    labels = np.concatenate([np.reshape(_label_feature(b, label_path), [-1])
                             for b in ds.batch(_ARRAY_BATCH).as_numpy_iterator()] or [np.zeros(0, np.int64)])
    return int(np.sum(np.asarray(label_map)[labels.astype(np.int64)] >= 0))


def _label_decoder(label_path: tuple[str, ...]) -> dict:
    """("attributes", "Male") -> {"attributes": {"Male": True}}: decode only the label."""
    label: object = True
    for key in reversed(label_path):
        label = {key: label}
    return label


def _open(name: str, split: str | None, data_dir, source_dir, image_size: int | None, classes=None) -> _Opened:
    """Checks the arguments (before any slow work), prepares the dataset, describes it. With
    `classes`, only those labels are kept, relabeled 0..len(classes)-1 in the given order."""
    src = _source(name)
    if split is not None:
        configs.check_choice("split", split, SPLITS, "known splits")
    builder = _prepared_builder(src, data_dir, source_dir)
    height, width, channels = builder.info.features["image"].shape
    if image_size:
        height = width = int(image_size)
    elif height is None or width is None:
        raise ValueError(
            f"{name} images vary in size; pass image_size=N (`--set image_size=N`) "
            "to center-crop and resize them to N x N"
        )
    label = _label_feature(builder.info.features, src.label)
    # The only labels that are not ClassLabels are boolean attributes (celeb_a).
    num_classes = label.num_classes if isinstance(label, tfds.features.ClassLabel) else 2
    label_names = tuple(label.names) if isinstance(label, tfds.features.ClassLabel) else ()
    label_map = _label_map(classes, num_classes, name)
    splits = _split_exprs(builder, src)
    if label_map is None:
        num_examples = {s: _num_examples(builder, expr) for s, expr in splits.items()}
    else:
        num_examples = {s: _count_kept(builder, expr, src.label, label_map) for s, expr in splits.items()}
        label_names = tuple(label_names[c] for c in classes) if label_names else ()
        num_classes = len(classes)
    dataset_spec = DatasetSpec(
        name=name,
        image_shape=(height, width, channels),
        num_classes=num_classes,
        num_examples=num_examples,
        normalization=dict(_NORMALIZATION),
        label_names=label_names,
    )
    return _Opened(src, builder, splits, dataset_spec, label_map)


def spec(name: str, *, data_dir=None, source_dir=None, image_size: int | None = None, classes=None) -> DatasetSpec:
    """Shapes, class count and split sizes of `name` (preparing it if needed)."""
    return _open(name, None, data_dir, source_dir, image_size, classes).spec


def _center_square(image: tf.Tensor, size: int) -> tf.Tensor:
    """Center-crops to a square and resizes to size x size, staying uint8."""
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    image = tf.image.crop_to_bounding_box(
        image, (shape[0] - side) // 2, (shape[1] - side) // 2, side, side
    )
    image = tf.image.resize(image, (size, size), antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def _select(example: dict, *, label_path: tuple[str, ...], image_size: int | None) -> dict:
    image = example["image"]
    if image_size:
        image = _center_square(image, image_size)
    label = _label_feature(example, label_path)
    return {"image": image, "label": tf.cast(label, tf.int32)}


def _examples(opened: _Opened, split: str, image_size, input_context=None) -> tf.data.Dataset:
    """uint8 {"image", "label"} examples of one split, in a fixed order."""
    src = opened.src
    # Decode only what we use (smallnorb's second image, celeb_a's landmarks, ...).
    ds = opened.builder.as_dataset(
        split=opened.splits[split],
        shuffle_files=False,
        decoders=tfds.decode.PartialDecoding({"image": True, **_label_decoder(src.label)}),
    )
    if input_context is not None:
        ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    select = functools.partial(_select, label_path=src.label, image_size=image_size)
    ds = ds.map(select, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if opened.label_map is not None:
        label_map = tf.constant(opened.label_map, tf.int32)
        ds = ds.filter(lambda example: tf.gather(label_map, example["label"]) >= 0).map(
            lambda example: {"image": example["image"], "label": tf.gather(label_map, example["label"])})
    return ds


def _normalize(batch: dict, *, scale: float, offset: float, with_labels: bool, captions=None) -> dict:
    out = {"image": tf.cast(batch["image"], tf.float32) * scale + offset}
    if with_labels:
        out["label"] = batch["label"]
    if captions is not None:
        out["embedding"] = tf.gather(captions, batch["caption_index"])
    return out


@dataclasses.dataclass(frozen=True)
class Captions:
    """Caption embeddings of one split, aligned with its examples in `load`'s order: example i
    has the captions table[index[i]], [C, D] (C captions, e.g. Reed et al.'s 10 per flower)."""

    table: np.ndarray  # [M, D] float32
    index: np.ndarray  # [N, C] int32 rows of `table`

    @property
    def size(self) -> int:
        return self.table.shape[1]


CAPTIONS_FORMAT = ("an .npz with, per split, either `<split>` = [N, D] or [N, C, D] embeddings (C captions "
                   "per example), or `<split>_table` = [M, D] with `<split>_index` = [N] or [N, C] rows of it; "
                   "N = the split's examples in order (after any `classes` selection)")


def read_captions(path: str, split: str) -> Captions:
    """The caption embeddings of `split` from an .npz file (`CAPTIONS_FORMAT`)."""
    if not os.path.exists(path):
        raise DataNotFoundError(f"no caption embeddings at {path}: expected {CAPTIONS_FORMAT}")
    with np.load(path) as archive:
        if split in archive:
            embeddings = np.asarray(archive[split], np.float32)
            if embeddings.ndim == 2:
                embeddings = embeddings[:, None]
            if embeddings.ndim != 3:
                raise DataFormatError(f"{path}: `{split}` has shape {embeddings.shape}; expected {CAPTIONS_FORMAT}")
            n, c, d = embeddings.shape
            return Captions(embeddings.reshape(n * c, d), np.arange(n * c, dtype=np.int32).reshape(n, c))
        if f"{split}_table" in archive and f"{split}_index" in archive:
            table = np.asarray(archive[f"{split}_table"], np.float32)
            index = np.asarray(archive[f"{split}_index"], np.int32)
            index = index[:, None] if index.ndim == 1 else index
            if table.ndim != 2 or index.ndim != 2 or index.min(initial=0) < 0 or index.max(initial=0) >= len(table):
                raise DataFormatError(f"{path}: `{split}_table` {table.shape} / `{split}_index` {index.shape} "
                                      f"do not fit together; expected {CAPTIONS_FORMAT}")
            return Captions(table, index)
        raise DataFormatError(f"{path} has no captions for the {split} split (keys: {', '.join(archive.files)}); "
                              f"expected {CAPTIONS_FORMAT}")


def load(
    name: str,
    split: str,
    *,
    batch_size: int,
    shuffle: bool = False,
    repeat: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
    with_labels: bool = True,
    data_dir=None,
    source_dir=None,
    image_size: int | None = None,
    classes=None,
    label: int | None = None,
    captions: Captions | None = None,
    input_context: tf.distribute.InputContext | None = None,
    skip_batches: int = 0,
) -> tf.data.Dataset:
    """Batches {"image": float32 [B, H, W, C] in [0, 1], "label": int32 [B]} of one split.

    Examples are decoded once and cached as uint8; shuffling is seeded and
    differs between epochs, the same for every iterator (see
    `shuffle_batches`); normalization runs on whole batches. With
    `input_context`, this pipeline reads its own shard and batches per replica.
    With `classes`, only those labels, relabeled 0..len(classes)-1; with `label`, only the
    examples of that (relabeled) label, e.g. one domain of a two-domain dataset. With `captions`
    (`read_captions`), batches also have "embedding": [B, C, D], each example's caption embeddings.
    `skip_batches` starts the stream that many batches in, as if they had been read (a resumed run
    continues where it stopped).
    """
    opened = _open(name, split, data_dir, source_dir, image_size, classes)
    dataset_spec = opened.spec
    ds = _examples(opened, split, image_size, input_context)
    if captions is not None:
        if input_context is not None:
            raise ValueError("captions are aligned with the whole split: load them without an input_context")
        if len(captions.index) != dataset_spec.num_examples[split]:
            raise DataFormatError(f"{len(captions.index)} caption rows for the {dataset_spec.num_examples[split]} "
                                  f"examples of {name}'s {split} split: {CAPTIONS_FORMAT}")
        index = tf.constant(captions.index)
        ds = ds.enumerate().map(lambda i, example: {**example, "caption_index": tf.gather(index, i)})
    if label is not None:
        if not 0 <= label < dataset_spec.num_classes:
            raise ValueError(f"label {label} is not a label of {name} (0..{dataset_spec.num_classes - 1})")
        ds = ds.filter(lambda example: tf.equal(example["label"], label))
    ds = ds.cache()
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    if shuffle:
        ds = shuffle_batches(ds, seed, repeat, batch_size, drop_remainder, skip_batches)
    else:
        ds = (ds.repeat() if repeat else ds).batch(batch_size, drop_remainder=drop_remainder).skip(skip_batches)
    normalize = functools.partial(_normalize, with_labels=with_labels, **dataset_spec.normalization,
                                  captions=None if captions is None else tf.constant(captions.table))
    ds = ds.map(normalize, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def shuffle_batches(examples, seed, repeat, batch_size, drop_remainder, skip_batches=0):
    """Batches whose order is a pure function of (seed, epoch): epoch e visits the split in the
    order stateless_shuffle(range(n), seed=(seed, e)). Every iterator made from the dataset, a
    distributed copy included, sees the same batches (a seeded `shuffle` continues its sequence
    across iterators instead). The split is held in memory as uint8, as `cache()` would hold it.
    `skip_batches` drops that many batches of indices before any image is gathered: a resumed run
    takes up the stream where it stopped at the cost of a few shuffles of integers."""
    table = next(iter(examples.batch(1 << 31)))
    n = tf.shape(tf.nest.flatten(table)[0])[0]
    epochs = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)
    order = epochs.flat_map(lambda epoch: tf.data.Dataset.from_tensor_slices(
        tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))))
    return order.batch(batch_size, drop_remainder=drop_remainder).skip(skip_batches).map(
        lambda index: tf.nest.map_structure(lambda column: tf.gather(column, index), table),
        num_parallel_calls=tf.data.AUTOTUNE)


def arrays(
    name: str, split: str, *, limit: int | None = None, data_dir=None, source_dir=None,
    image_size: int | None = None, classes=None,
) -> dict[str, np.ndarray]:
    """A whole split (or its first `limit` examples) in memory.

    Returns {"image": float32 [N, H, W, C] in [0, 1], "label": int32 [N]}.
    """
    opened = _open(name, split, data_dir, source_dir, image_size, classes)
    dataset_spec = opened.spec
    ds = _examples(opened, split, image_size)
    if limit is not None:
        ds = ds.take(limit)
    batches = list(ds.batch(_ARRAY_BATCH).as_numpy_iterator())
    if batches:
        images = np.concatenate([b["image"] for b in batches])
        labels = np.concatenate([b["label"] for b in batches])
    else:
        images = np.zeros((0, *dataset_spec.image_shape), np.uint8)
        labels = np.zeros((0,), np.int32)
    norm = dataset_spec.normalization
    images = images.astype(np.float32) * np.float32(norm["scale"]) + np.float32(norm["offset"])
    return {"image": images, "label": labels.astype(np.int32)}


def labeled_subset(
    name: str, num_labels: int, *, seed: int, data_dir=None, source_dir=None,
    image_size: int | None = None, classes=None,
) -> dict[str, np.ndarray]:
    """A class-balanced sample of `num_labels` "train" examples (num_labels / num_classes per class).

    Drawn with numpy's Generator seeded by `seed`, so it is the same on every call.
    Same layout as `arrays`.
    """
    options = dict(data_dir=data_dir, source_dir=source_dir, image_size=image_size, classes=classes)
    num_classes = spec(name, **options).num_classes
    if num_labels <= 0 or num_labels % num_classes:
        raise ValueError(
            f"num_labels must be a positive multiple of {num_classes} (the classes of {name}), "
            f"got {num_labels}"
        )
    data = arrays(name, "train", **options)
    per_class = num_labels // num_classes
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(num_classes):
        members = np.flatnonzero(data["label"] == c)
        if len(members) < per_class:
            raise ValueError(
                f"{name} train split has only {len(members)} examples of class {c}; "
                f"{num_labels} labels need {per_class} per class"
            )
        picks.append(rng.choice(members, per_class, replace=False))
    order = rng.permutation(np.concatenate(picks))
    return {key: value[order] for key, value in data.items()}
