"""Pictures people would rather look at than read: image grids and latent-space plots, as uint8
arrays that go both to PNG files in the workdir and to TensorBoard."""
from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def grid(images: np.ndarray, columns: int | None = None, upscale: int = 0) -> np.ndarray:
    """[N, H, W, C] floats in [0, 1] -> one uint8 [rows*H, columns*W, 3] mosaic with 1-pixel gaps."""
    images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    n, h, w, _ = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    out = np.ones((rows * (h + 1) + 1, columns * (w + 1) + 1, 3), np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = image
    upscale = upscale or max(1, 256 // out.shape[0])
    out = np.kron(out, np.ones((upscale, upscale, 1), np.float32))
    return (out * 255).round().astype(np.uint8)


def pairs(originals: np.ndarray, reconstructions: np.ndarray, columns: int = 8) -> np.ndarray:
    """Originals and their reconstructions in alternating rows."""
    n = min(len(originals), columns * 4)
    originals, reconstructions = originals[:n], reconstructions[:n]
    rows = []
    for start in range(0, n, columns):
        rows.extend([originals[start:start + columns], reconstructions[start:start + columns]])
    return grid(np.concatenate(rows), columns=columns)


def labeled_rows(images: np.ndarray, columns: int, row_labels: list[str], title: str) -> np.ndarray:
    """A grid of `columns` images per row with a label at the left of every row."""
    mosaic = grid(images, columns=columns, upscale=1)
    rows = len(row_labels)
    height = mosaic.shape[0] / rows
    figure, axes = plt.subplots(figsize=(columns * 0.6 + 1.5, rows * 0.6 + 0.8))
    axes.imshow(mosaic, interpolation="nearest")
    axes.set_yticks([height * (r + 0.5) for r in range(rows)], row_labels, fontsize=7)
    axes.set_xticks([])
    axes.set_title(title, fontsize=8)
    return _figure_to_array(figure)


def panels(pictures: dict[str, np.ndarray], title: str, columns: int = 0) -> np.ndarray:
    """uint8 pictures side by side (`columns` per row, default all), each under its own title."""
    columns = columns or len(pictures)
    rows = math.ceil(len(pictures) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4 * rows + 0.5), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (name, picture) in zip(axes.flat, pictures.items()):
        axis.imshow(picture, interpolation="nearest")
        axis.set_title(name, fontsize=9)
    figure.suptitle(title, fontsize=10)
    return _figure_to_array(figure)


def _figure_to_array(figure) -> np.ndarray:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return np.asarray(Image.open(buffer).convert("RGB"))


def latent_scatter(codes: np.ndarray, labels: np.ndarray | None, title: str,
                   axes_names: tuple[str, str] = ("z1", "z2")) -> np.ndarray:
    """2-D scatter of the codes coloured by label; codes of more than 2 dimensions are projected on
    their first two principal components (the axes say so)."""
    codes = np.asarray(codes, np.float64)
    if codes.shape[1] > 2:
        centered = codes - codes.mean(axis=0)
        _, _, vt = np.linalg.svd(centered, full_matrices=False)
        codes = centered @ vt[:2].T
        axes_names = ("PC1 of z", "PC2 of z")
    elif codes.shape[1] == 1:
        codes = np.concatenate([codes, np.zeros_like(codes)], axis=1)
    figure, ax = plt.subplots(figsize=(5, 5))
    # Fixed colour limits: label k has the same colour in every panel, whichever labels it shows.
    limits = {"vmin": 0, "vmax": max(9, int(np.max(labels)))} if labels is not None and len(labels) else {}
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7, **limits)
    if labels is not None:
        figure.colorbar(points, ax=ax, label="label")
    ax.set_xlabel(axes_names[0])
    ax.set_ylabel(axes_names[1])
    ax.set_title(title)
    return _figure_to_array(figure)


def simplex_scatter(probabilities: np.ndarray, labels: np.ndarray, title: str,
                    label_names: list[str] | None = None) -> np.ndarray:
    """Points of the 3-way probability simplex (softmax codes) drawn in its triangle, each at the
    probability-weighted mix of the corners, coloured by label: one-hot codes sit on the corners.
    Each corner is labelled with the share of codes whose largest probability is that cluster, so
    codes piled onto one point still show how many there are."""
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != 3:
        raise ValueError(f"simplex_scatter needs [N, 3] probabilities, got shape {probabilities.shape}")
    labels = np.asarray(labels)
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    points = probabilities @ corners
    shares = np.bincount(np.argmax(probabilities, axis=1), minlength=3) / len(probabilities)
    figure, ax = plt.subplots(figsize=(5, 5))
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="gray", linewidth=1)
    colours = plt.get_cmap("tab10")
    for label in np.unique(labels):
        chosen = labels == label
        name = label_names[label] if label_names else str(label)
        ax.scatter(points[chosen, 0], points[chosen, 1], color=colours(int(label) % 10), s=5, alpha=0.5, label=name)
    for k, (corner, offset) in enumerate(zip(corners, ((-0.02, -0.09), (0.02, -0.09), (0.0, 0.04)))):
        ax.annotate(f"cluster {k + 1}: {shares[k]:.0%} of codes", corner, xytext=corner + np.array(offset),
                    ha="center", fontsize=8)
    ax.legend(loc="upper left", fontsize=8, markerscale=3, frameon=False)
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.15, 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    return _figure_to_array(figure)


def cluster_label_heatmap(clusters: np.ndarray, labels: np.ndarray, num_clusters: int, title: str) -> np.ndarray:
    """Counts of each true label in each cluster: a clustering is good when every row has one hot cell."""
    num_classes = int(labels.max()) + 1
    counts = np.zeros((num_clusters, num_classes), np.int64)
    np.add.at(counts, (clusters, labels), 1)
    figure, ax = plt.subplots(figsize=(4, max(3, num_clusters * 0.18)))
    ax.imshow(counts, aspect="auto", cmap="viridis")
    ax.set_xlabel("true label")
    ax.set_ylabel("cluster")
    ax.set_title(title)
    return _figure_to_array(figure)


def save_png(array: np.ndarray, path: str) -> None:
    Image.fromarray(array).save(path)
