"""A classifier the zoo trains on a dataset's own labels, for scores that need no download: the label
kept by reconstructions (IAE Fig. 2), the realism of translations (the domain of a two-domain
dataset), classifier-based Inception Score / FID. Cached per dataset, so every experiment scores
with the same network:

    python -m zoo.classifier --dataset=fashion_edges2shoes
    python -m zoo.classifier --dataset=mnist --source_dir=../shared/data/mnist

writes <cache>/<dataset>.keras and <dataset>.json (its test accuracy); <cache> is $ZOO_CACHE_DIR or
~/.cache/zoo/classifiers. Every score built on it names it with `describe`. Training is seeded, but
CPU kernels split their sums by thread count: the same seed gives the same weights only at the same
TF_NUM_INTRAOP_THREADS (Fashion-MNIST, seed 0: test accuracy 0.8932 at 1 thread, 0.8905 at 2).
"""
from __future__ import annotations

import json
import os

from absl import app, flags

from zoo import cli

EPOCHS = 3


def cache_dir() -> str:
    return os.environ.get("ZOO_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "zoo", "classifiers")


def _build(spec):
    import keras

    return keras.Sequential([
        keras.Input(spec.image_shape),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(128, activation="relu", name="features"),
        keras.layers.Dense(spec.num_classes, activation="softmax", name="probabilities")])


def load_or_train(dataset: str, epochs: int = EPOCHS, seed: int = 0, retrain: bool = False, verbose: int = 2,
                  source_dir: str | None = None, data_dir: str | None = None):
    """(model giving class probabilities, {"dataset", "test_accuracy", "path", ...}); trained on the
    training split once and cached. `source_dir` / `data_dir`: where the dataset is found, as a run's
    `--set source_dir=DIR` (MNIST from its IDX files); the cache is per dataset name."""
    import keras

    from zoo import data

    stem = os.path.join(cache_dir(), f"{dataset}_e{epochs}_s{seed}")
    if not retrain and os.path.exists(stem + ".keras") and os.path.exists(stem + ".json"):
        with open(stem + ".json") as f:
            return keras.models.load_model(stem + ".keras"), json.load(f)
    keras.utils.set_random_seed(seed)
    where = dict(source_dir=source_dir, data_dir=data_dir)
    train, test = data.arrays(dataset, "train", **where), data.arrays(dataset, "test", **where)
    model = _build(data.spec(dataset, **where))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train["image"], train["label"], batch_size=128, epochs=epochs, verbose=verbose)
    info = {"dataset": dataset, "epochs": epochs, "seed": seed, "path": stem + ".keras",
            "test_accuracy": float(model.evaluate(test["image"], test["label"], verbose=0)[1])}
    os.makedirs(cache_dir(), exist_ok=True)
    # Written under private names, then renamed: concurrent runs (parallel tests, experiments
    # training the same classifier) never read a half-written file.
    private = f"{stem}.{os.getpid()}"
    model.save(private + ".keras")
    with open(private + ".json", "w") as f:
        json.dump(info, f, indent=2)
    os.replace(private + ".keras", stem + ".keras")
    os.replace(private + ".json", stem + ".json")
    return model, info


class Scorer:
    """Features and class probabilities of images for IS / FID, from a pluggable network: the zoo's
    classifier of a dataset (`Scorer.zoo`) or the standard Inception-v3 (`Scorer.inception`)."""

    def __init__(self, name: str, features_model, probabilities_model, prepare=lambda images: images,
                 info: dict | None = None):
        self.name, self._features, self._probabilities, self._prepare = (
            name, features_model, probabilities_model, prepare)
        self.info = info  # the zoo classifier's record (dataset, epochs, test accuracy, path); None for Inception

    @classmethod
    def zoo(cls, dataset: str, **options):
        import keras

        model, info = load_or_train(dataset, **options)
        features = keras.Model(model.inputs, model.get_layer("features").output)
        return cls(describe(info), features, model, info=info)

    @classmethod
    def inception(cls, weights: str = "imagenet"):
        """Keras's InceptionV3 (pool features, ImageNet probabilities) on images resized to 299x299 RGB.
        `weights`: "imagenet" (Keras downloads them once into ~/.keras/models) or a weights file."""
        import keras
        import tensorflow as tf

        from zoo.data import DataNotFoundError

        try:
            network = keras.applications.InceptionV3(weights=weights)
        except Exception as e:  # no network and no cached file
            raise DataNotFoundError(
                f"Inception-v3 weights are not available here ({type(e).__name__}: {str(e)[:120]}). On a machine "
                "with internet run `python -c \"import keras; keras.applications.InceptionV3()\"` and copy "
                "~/.keras/models/inception_v3_weights_tf_dim_ordering_tf_kernels.h5 here, or score with the zoo's "
                "classifier (`python -m zoo.classifier --dataset=...`).") from None
        features = keras.Model(network.inputs, network.get_layer("avg_pool").output)

        def prepare(images):
            images = tf.image.resize(tf.convert_to_tensor(images, tf.float32), (299, 299))
            images = tf.image.grayscale_to_rgb(images) if images.shape[-1] == 1 else images
            return images * 2.0 - 1.0  # Inception's [-1, 1]

        return cls("Inception-v3 (ImageNet weights)", features, network, prepare)

    def _run(self, model, images, batch_size: int = 250):
        import numpy as np

        return np.concatenate([np.asarray(model(self._prepare(images[i:i + batch_size]), training=False))
                               for i in range(0, len(images), batch_size)])

    def features(self, images):
        return self._run(self._features, images)

    def probabilities(self, images):
        return self._run(self._probabilities, images)


def describe(info: dict) -> str:
    return (f"the zoo's {info['dataset']} classifier (2 conv layers, {info['epochs']} epochs, seed {info['seed']}; "
            f"test accuracy {info['test_accuracy']:.4f})")


def main(argv):
    flags_ = flags.FLAGS
    _, info = load_or_train(flags_.dataset, flags_.epochs, flags_.seed, flags_.retrain,
                            source_dir=flags_.source_dir or None, data_dir=flags_.data_dir or None)
    print(describe(info))
    print(info["path"])


if __name__ == "__main__":
    # Defined here, not at import: experiments import this module beside their own --dataset flag.
    flags.DEFINE_string("dataset", "fashion_mnist", "dataset whose labels the classifier learns")
    flags.DEFINE_integer("epochs", EPOCHS, "training epochs")
    flags.DEFINE_integer("seed", 0, "seed")
    flags.DEFINE_bool("retrain", False, "train again even if cached")
    flags.DEFINE_string("source_dir", "", "directory of the dataset's source files (e.g. MNIST's IDX files)")
    flags.DEFINE_string("data_dir", "", "TFDS data directory")
    app.run(cli.report_errors(main))
