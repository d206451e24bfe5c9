"""Toy datasets made in code, for the figures that need a known ground truth.

Points come as "images" of shape (1, 1, d) so that every family's MLP architecture (with
`output=linear`) trains on them unchanged, and `spec(...)` describes them like a real dataset.
"""
from __future__ import annotations

import math

import numpy as np

from zoo.data import DatasetSpec


def mixture_of_gaussians(n: int, seed: int = 0, components: int = 7, radius: float = 2.0, std: float = 0.05):
    """IAE Fig. 5's toy: 2-D points from `components` equally weighted isotropic Gaussians whose
    means lie evenly on a circle of `radius`. Returns (points [n, 1, 1, 2], component labels [n], means)."""
    rng = np.random.default_rng(seed)
    angles = 2 * math.pi * np.arange(components) / components
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    labels = rng.integers(0, components, size=n)
    points = means[labels] + std * rng.standard_normal((n, 2)).astype(np.float32)
    return points.reshape(n, 1, 1, 2).astype(np.float32), labels.astype(np.int32), means


def four_points(n: int, seed: int = 0, spread: float = 1.0):
    """FIAE Figs. 11-12's toy: n draws, uniformly, of four 2-D points at (+-spread, +-spread).
    Returns (points [n, 1, 1, 2], which point [n], the four points)."""
    rng = np.random.default_rng(seed)
    corners = spread * np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], np.float32)
    labels = rng.integers(0, 4, size=n)
    return corners[labels].reshape(n, 1, 1, 2), labels.astype(np.int32), corners


def spec(name: str, num_classes: int, num_examples: int) -> DatasetSpec:
    """A DatasetSpec for 2-D toy points (no uint8 normalization: the points are used as they are)."""
    return DatasetSpec(name=name, image_shape=(1, 1, 2), num_classes=num_classes,
                       num_examples={"train": num_examples, "validation": 0, "test": 0},
                       normalization={"scale": 1.0, "offset": 0.0})
