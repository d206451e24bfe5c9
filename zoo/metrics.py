"""Evaluation metrics shared by every family.

Clustering error follows the PixelGAN autoencoders protocol (Makhzani & Frey 2017, Section 2.1.1):
"for each cluster i, we found the validation example x_n that maximizes q(y_i | x_n), and assigned
the label of x_n to all the points in the cluster i"; the error is then measured on the test set.
When there are as many clusters as classes, the Hungarian one-to-one matching error is reported too.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def cluster_labels(validation_probs, validation_labels) -> np.ndarray:
    """Paper protocol: each cluster takes the label of its most confident validation example."""
    return np.asarray(validation_labels)[np.argmax(np.asarray(validation_probs), axis=0)]


def cluster_error_by_validation(validation_probs, validation_labels, test_probs, test_labels) -> float:
    predicted = cluster_labels(validation_probs, validation_labels)[np.argmax(np.asarray(test_probs), axis=1)]
    return float(np.mean(predicted != np.asarray(test_labels)))


def hungarian_error(clusters, labels, num_classes: int) -> float:
    """Error under the best one-to-one map of clusters to classes (clusters == classes)."""
    clusters, labels = np.asarray(clusters), np.asarray(labels)
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(1.0 - counts[rows, cols].sum() / len(labels))


def clusters_used(probs, share: float = 0.01) -> int:
    """How many clusters hold at least `share` of the examples (argmax assignment): 1 = collapse."""
    probs = np.asarray(probs)
    counts = np.bincount(np.argmax(probs, axis=1), minlength=probs.shape[1])
    return int(np.sum(counts >= share * counts.sum()))


def nearest_condition_scores(prior_codes, conditions, test_codes, labels, conditioning: str) -> dict:
    """A conditional prior's modes vs the data's codes: the condition of each test code's nearest
    prior code (Euclidean, in code space) scored against its label. "supervised" (s is the label):
    the share that agrees; "unsupervised" (s is an unnamed category): the Hungarian error."""
    prior_codes, test_codes = np.asarray(prior_codes, np.float64), np.asarray(test_codes, np.float64)
    distances = (np.sum(test_codes ** 2, axis=1, keepdims=True) - 2 * test_codes @ prior_codes.T
                 + np.sum(prior_codes ** 2, axis=1))
    nearest = np.asarray(conditions)[np.argmin(distances, axis=1)]
    if conditioning == "supervised":
        return {"nearest_prior_label_agreement": float(np.mean(nearest == labels))}
    classes = max(int(np.max(conditions)), int(np.max(labels))) + 1
    return {"nearest_prior_category_error": hungarian_error(nearest, labels, classes)}


def classification_error(probs, labels) -> float:
    return float(np.mean(np.argmax(np.asarray(probs), axis=1) != np.asarray(labels)))


def diversity(draws) -> float:
    """How much K outputs for the same inputs differ, [K, N, ...] -> the mean absolute difference per
    pixel over all pairs of draws, averaged over inputs (0: the noise is ignored)."""
    draws = np.asarray(draws, np.float32)
    k = len(draws)
    if k < 2:
        raise ValueError(f"diversity needs at least two draws, got {k}")
    pairs = [np.abs(draws[i] - draws[j]).mean() for i in range(k) for j in range(i + 1, k)]
    return float(np.mean(pairs))


def spread(images) -> float:
    """The standard deviation of each pixel across a set of images, averaged: 0 when every image is
    the same (a collapsed generator), that of real images when it varies as they do."""
    return float(np.asarray(images, np.float32).std(axis=0).mean())


def input_kept(outputs, inputs) -> float:
    """Mean |output_i - input_i| over mean |output_i - input_j| (j != i, a fixed derangement): 1 when
    outputs ignore their own inputs, lower the more of them they keep."""
    outputs, inputs = np.asarray(outputs, np.float32), np.asarray(inputs, np.float32)
    if len(inputs) < 2:
        raise ValueError("input_kept needs at least two inputs")
    own = np.abs(outputs - inputs).mean()
    return float(own / np.abs(outputs - np.roll(inputs, 1, axis=0)).mean())


def edge_disagreement(edges, reference) -> float:
    """The share of pixels where two binary edge maps disagree (0: the same content)."""
    return float(np.mean((np.asarray(edges) > 0.5) != (np.asarray(reference) > 0.5)))


def domain_score(probabilities, domain: int) -> float:
    """Mean probability a domain classifier gives the wanted domain: the realism of translations."""
    return float(np.mean(np.asarray(probabilities)[:, domain]))


def inception_score(probabilities, splits: int = 10) -> tuple[float, float]:
    """Inception Score (Salimans et al. 2016), exp E_x KL(p(y | x) || p(y)), with any classifier's
    p(y | x) [N, classes]: mean and std over `splits` disjoint parts, as usually reported."""
    probabilities = np.asarray(probabilities, np.float64)
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def frechet_distance(features, reference_features) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N, D] (FID, Heusel et al. 2017,
    with whatever network gave the features): |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))."""
    from scipy import linalg

    a, b = np.asarray(features, np.float64), np.asarray(reference_features, np.float64)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    root = root.real  # numerical error leaves a tiny imaginary part
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))
