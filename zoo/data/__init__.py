"""Image datasets for the zoo, as tf.data pipelines or in-memory arrays.

Every dataset comes from a TFDS builder: our own (`digits`, IDX-file
`fashion_mnist` / `mnist`, see `zoo.data.builders`; the two-domain
`fashion_edges2shoes` / `mnist_edges` / `digits_edges` / `edges2shoes`, see
`zoo.data.domains`) or the TFDS
catalog. It is
prepared once in `data_dir` (default: TFDS's, i.e. $TFDS_DATA_DIR or
~/tensorflow_datasets) and reused afterwards.

Splits: "train" is the dataset's training split minus a held-out tail (200
examples for digits, 5000 otherwise, at most a fifth of the split),
"validation" is that tail (or the dataset's own validation split, for celeb_a
and oxford_flowers102), "test" is the test split. Images come out as float32
in [0, 1] (uint8 * scale + offset, see `DatasetSpec.normalization`), labels as
int32.

`source_dir` names a directory of IDX files: always used by fashion_mnist and
fashion_edges2shoes (default: Debian's /usr/share/datasets/fashion-mnist) and
mnist_edges, by mnist when given (otherwise mnist comes from the TFDS catalog);
for edges2shoes, the directory of the pix2pix archive (default: TFDS's manual
directory, <data_dir>/downloads/manual); ignored by the other datasets.
A prepared dataset is reused while its source files are the ones it was made
from (name, size, content hash); other or changed files prepare it again.
"""
from zoo.data.idx import DataFormatError, DataNotFoundError
from zoo.data.pipeline import (
    CAPTIONS_FORMAT,
    DATASETS,
    SPLITS,
    Captions,
    DatasetSpec,
    arrays,
    labeled_subset,
    load,
    read_captions,
    shuffle_batches,
    spec,
)

__all__ = [
    "CAPTIONS_FORMAT", "DATASETS", "SPLITS", "Captions", "DataFormatError", "DataNotFoundError", "DatasetSpec",
    "arrays", "labeled_subset", "load", "read_captions", "shuffle_batches", "spec",
]
