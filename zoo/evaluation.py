"""`evaluate(workdir)`: the metrics of a trained run, written to `<workdir>/eval.json`.

Always: the family's validation metrics on the test split (`VALIDATION_METRICS`: the autoencoders'
reconstruction error, mean squared error per pixel with images in [0, 1]; the PixelCNN's negative
log-likelihood in bits per dimension). With a
categorical code: clustering error by the PixelGAN protocol (zoo.metrics), the Hungarian error when
clusters == classes, and the semi-supervised test error when the run was trained with labels.
And what the model measures on its own samples (`sample_metrics`: the FIAE's code recovery).
"""
from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from zoo import configs, data, metrics, registry, training


def _batched(fn, images: np.ndarray, batch_size: int):
    """fn over batches of images, outputs concatenated (fn returns a tensor or a dict of them)."""
    outputs = [fn(tf.constant(images[i:i + batch_size])) for i in range(0, len(images), batch_size)]
    return tf.nest.map_structure(lambda *parts: np.concatenate([p.numpy() for p in parts]), *outputs)


def metric_names(config) -> list[str]:
    """The errors `evaluate` reports for runs of this config (all lower is better)."""
    names = list(registry.family(config.model).model_cls.VALIDATION_METRICS)
    if getattr(config, "num_clusters", 0):
        names.append("clustering_error")
        names += ["hungarian_error"] if config.num_clusters == data.spec(
            config.dataset, **training.data_options(config)).num_classes else []
        names += ["classification_error"] if configs.num_labels(config) else []
    return names


def default_objective(config) -> str:
    """The error that says most about a config: what it was trained for."""
    if configs.num_labels(config) and getattr(config, "num_clusters", 0):
        return "classification_error"
    if getattr(config, "num_clusters", 0):
        return "clustering_error"
    return registry.family(config.model).model_cls.VALIDATION_METRICS[0]


def cluster_labels(model, config, batch_size: int = 500) -> np.ndarray:
    """The label each cluster of a categorical model takes under the clustering protocol."""
    validation = data.arrays(config.dataset, "validation", **training.data_options(config))
    seed = tf.constant([config.seed, 1], tf.int32)
    probabilities = _batched(tf.function(lambda x: model.classify(x, seed)), validation["image"], batch_size)
    return metrics.cluster_labels(probabilities, validation["label"])


def evaluate(workdir: str, batch_size: int = 500, split: str = "test", write: bool = True) -> dict:
    """The metrics on `split`. The tuner evaluates on "validation", so that the test split never
    chooses a config; there the clustering protocol labels clusters with the split it scores."""
    config, spec, model = training.restore(workdir)
    seed = tf.constant([config.seed, 1], tf.int32)
    options = training.data_options(config)
    test = data.arrays(config.dataset, split, **options)
    if model.TWO_DOMAINS:  # the autoencoded domain A (label 0)
        test = {key: value[test["label"] == 0] for key, value in test.items()}
    results = {"step": int(model.step_counter.numpy()), "dataset": config.dataset, "split": split,
               "examples": int(len(test["label"]))}
    errors = _batched(tf.function(lambda x: model.validation_errors(x, seed)), test["image"], batch_size)
    results.update({name: float(np.mean(errors[name])) for name in model.VALIDATION_METRICS})
    if getattr(config, "num_clusters", 0):
        classify = tf.function(lambda x: model.classify(x, seed))
        validation = data.arrays(config.dataset, "validation", **options)
        test_probs = _batched(classify, test["image"], batch_size)
        validation_probs = _batched(classify, validation["image"], batch_size)
        results["num_clusters"] = config.num_clusters
        results["clustering_error"] = metrics.cluster_error_by_validation(
            validation_probs, validation["label"], test_probs, test["label"])
        results["clusters_used"] = metrics.clusters_used(test_probs)  # 1: the code has collapsed
        if config.num_clusters == spec.num_classes:
            results["hungarian_error"] = metrics.hungarian_error(
                np.argmax(test_probs, axis=1), test["label"], spec.num_classes)
        if configs.num_labels(config):
            results["num_labels"] = configs.num_labels(config)
            results["classification_error"] = metrics.classification_error(test_probs, test["label"])
    results.update(model.sample_metrics(seed))
    if write:
        with open(os.path.join(workdir, "eval.json"), "w") as f:
            json.dump(results, f, indent=2)
    return results


def format_table(results: dict) -> str:
    width = max(len(k) for k in results)
    lines = [f"{'metric'.ljust(width)}  value", f"{'-' * width}  -----"]
    for key, value in results.items():
        lines.append(f"{key.ljust(width)}  {value:.4f}" if isinstance(value, float) else f"{key.ljust(width)}  {value}")
    return "\n".join(lines)
