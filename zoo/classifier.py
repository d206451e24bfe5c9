"""A classifier the zoo trains on a dataset's own labels, for scores that need no download: the label
kept by reconstructions (IAE Fig. 2), the realism of translations (the domain of a two-domain
dataset), classifier-based Inception Score / FID. Cached per dataset, so every experiment scores
with the same network:

    python -m zoo.classifier --dataset=fashion_edges2shoes

writes <cache>/<dataset>.keras and <dataset>.json (its test accuracy); <cache> is $ZOO_CACHE_DIR or
~/.cache/zoo/classifiers. Every score built on it names it with `describe`.
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


def load_or_train(dataset: str, epochs: int = EPOCHS, seed: int = 0, retrain: bool = False, verbose: int = 2):
    """(model giving class probabilities, {"dataset", "test_accuracy", "path", ...}); trained on the
    training split once and cached."""
    import keras

    from zoo import data

    stem = os.path.join(cache_dir(), f"{dataset}_e{epochs}_s{seed}")
    if not retrain and os.path.exists(stem + ".keras") and os.path.exists(stem + ".json"):
        with open(stem + ".json") as f:
            return keras.models.load_model(stem + ".keras"), json.load(f)
    keras.utils.set_random_seed(seed)
    train, test = data.arrays(dataset, "train"), data.arrays(dataset, "test")
    model = _build(data.spec(dataset))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train["image"], train["label"], batch_size=128, epochs=epochs, verbose=verbose)
    info = {"dataset": dataset, "epochs": epochs, "seed": seed, "path": stem + ".keras",
            "test_accuracy": float(model.evaluate(test["image"], test["label"], verbose=0)[1])}
    os.makedirs(cache_dir(), exist_ok=True)
    model.save(stem + ".keras")
    with open(stem + ".json", "w") as f:
        json.dump(info, f, indent=2)
    return model, info


def describe(info: dict) -> str:
    return (f"the zoo's {info['dataset']} classifier (2 conv layers, {info['epochs']} epochs, seed {info['seed']}; "
            f"test accuracy {info['test_accuracy']:.4f})")


def main(argv):
    flags_ = flags.FLAGS
    _, info = load_or_train(flags_.dataset, flags_.epochs, flags_.seed, flags_.retrain)
    print(describe(info))
    print(info["path"])


if __name__ == "__main__":
    # Defined here, not at import: experiments import this module beside their own --dataset flag.
    flags.DEFINE_string("dataset", "fashion_mnist", "dataset whose labels the classifier learns")
    flags.DEFINE_integer("epochs", EPOCHS, "training epochs")
    flags.DEFINE_integer("seed", 0, "seed")
    flags.DEFINE_bool("retrain", False, "train again even if cached")
    app.run(cli.report_errors(main))
