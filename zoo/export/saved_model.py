"""Export a trained run as a SavedModel that TF Serving loads:

    python -m zoo.export --workdir=runs/aae_digits --export_dir=exported

writes exported/<name>/<version>/ (name defaults to the model family, version to one more than the
highest already there) with one signature per endpoint the family declares (`ZooModel.endpoints`:
for the AAE `encode`, `decode`, `sample`, `reconstruct`, and `classify` with a categorical code),
fixed input signatures and named outputs. `assets.extra/` beside it holds the resolved config and
the dataset's normalization, so a client can prepare inputs without the zoo. Random endpoints take
a `seed`: int32 [a, b] gives the same outputs every time, [] fresh randomness.
"""
from __future__ import annotations

import json
import os

import keras
import tensorflow as tf
from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "trained run directory", required=True)
flags.DEFINE_string("export_dir", None, "model base directory for TF Serving", required=True)
flags.DEFINE_string("name", "", "model name (default: the model family)")
flags.DEFINE_integer("version", 0, "version number (default: next free one)")


def next_version(base: str) -> int:
    versions = [int(d) for d in os.listdir(base) if d.isdigit()] if os.path.isdir(base) else []
    return max(versions, default=0) + 1


def checked(function, signature):
    """`function` with its inputs' shapes checked when it runs: a signature alone does not check
    them, and a wrong-shaped request would fail somewhere inside the network instead of naming the
    input."""
    def endpoint(*inputs):
        return function(*[tf.ensure_shape(x, spec.shape, name=f"check_{spec.name}")
                          for x, spec in zip(inputs, signature)])
    return endpoint


def export(workdir: str, export_dir: str, name: str = "", version: int = 0) -> str:
    """Writes the SavedModel of `workdir`'s latest checkpoint and returns its directory."""
    from zoo import autoregressive, training

    config, spec, model = training.restore(workdir)
    autoregressive.portable_samplers(model)
    base = os.path.join(export_dir, name or config.model)
    path = os.path.join(base, str(version or next_version(base)))
    if os.path.exists(path):
        raise ValueError(f"{path} exists; choose another --version")
    archive = keras.export.ExportArchive()
    archive.track(model)
    specs = model.serving_specs()
    for endpoint, (function, inputs) in model.endpoints().items():
        signature = [specs[name] for name in inputs]
        archive.add_endpoint(endpoint, checked(function, signature), input_signature=signature)
    archive.write_out(path, verbose=False)
    extra = os.path.join(path, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    with open(os.path.join(extra, "config.json"), "w") as f:
        f.write(config.to_json())
    with open(os.path.join(extra, "normalization.json"), "w") as f:
        json.dump({"image_shape": list(spec.image_shape), **spec.normalization,
                   "note": "model input = uint8 pixel * scale + offset"}, f, indent=2)
    return path


@cli.report_errors
def main(argv):
    print(export(FLAGS.workdir, FLAGS.export_dir, FLAGS.name, FLAGS.version))


if __name__ == "__main__":
    app.run(main)
