"""Two-domain datasets for unpaired image-to-image translation (CycleIAE, CycleGAN).

A two-domain dataset is an ordinary labelled dataset whose label is the domain: 0 = domain A (the
images the CycleIAE autoencodes), 1 = domain B (the images its code must look like). Training
draws the two domains as two independently shuffled streams (`zoo.training.train_dataset`), so no
pair is ever shown together. Any two-class dataset serves (celeb_a: 0 = female, 1 = male).

* `zoo_edges2shoes`: the pix2pix archive `edges2shoes.tar.gz` (members `edges2shoes/{train,val}/
  *_AB.jpg`, each a 2W x W JPEG: the edge map on the left, the shoe on the right) read from a
  manual directory. Every 512x256 JPEG gives two examples, its shoe (label 0) and its edge map (label 1).
  The archive is read member by member, in memory: nothing is extracted, and members that could
  reach outside the archive (absolute paths, "..", links, devices) are refused.
* `zoo_edge_pairs/<config>`: an image dataset split by a seeded permutation into two disjoint
  halves, the images of one half (label 0) and the edge maps (`edge_map`) of the other (label 1):
  `fashion_shoes` (Fashion-MNIST's sandals, sneakers and ankle boots: `fashion_edges2shoes`, the
  offline stand-in for edges2shoes), `mnist` (`mnist_edges`), `digits` (`digits_edges`, from
  scikit-learn's bundled digits: needs no download, for tests and smoke runs).
"""
from __future__ import annotations

import dataclasses
import io
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from zoo.data import builders
from zoo.data.idx import DataFormatError, DataNotFoundError

DOMAINS = ("shoe", "edges")  # label 0 = domain A, 1 = domain B
SHOE_CLASSES = (5, 7, 9)  # Fashion-MNIST sandal, sneaker, ankle boot
EDGE_THRESHOLD = 0.3
EDGES2SHOES_ARCHIVE = "edges2shoes.tar.gz"
EDGES2SHOES_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/edges2shoes.tar.gz"


def edge_map(images: np.ndarray, threshold: float = EDGE_THRESHOLD) -> np.ndarray:
    """Binary edge maps (white edges on black, as float32 in {0, 1}) of images [N, H, W, C] in
    [0, 1] (or uint8): Sobel gradient magnitude of the grey image, relative to each image's
    largest, above `threshold`. The edges of fashion_edges2shoes and of the content metric."""
    from scipy import ndimage

    images = np.asarray(images, np.float32)
    if images.max(initial=0.0) > 1.0:
        images = images / 255.0
    grey = images.mean(axis=-1)
    magnitude = np.hypot(ndimage.sobel(grey, axis=-1), ndimage.sobel(grey, axis=-2))
    magnitude /= np.maximum(magnitude.max(axis=(-1, -2), keepdims=True), 1e-6)
    return (magnitude > threshold).astype(np.float32)[..., None]


def _features(image: tfds.features.FeatureConnector):
    return tfds.features.FeaturesDict({"image": image, "label": tfds.features.ClassLabel(names=list(DOMAINS))})


@dataclasses.dataclass(eq=False)
class EdgePairConfig(tfds.core.BuilderConfig):
    """An image dataset split into two unpaired domains: images of one half (A) and the edge maps
    of the other half (B)."""

    source: str = ""               # "digits" (scikit-learn's, bundled) or an IDX dataset (builders.IDX_CONFIGS)
    classes: tuple[int, ...] = ()  # source classes kept, all when empty
    domain_a: str = "image"
    side: int = 28


EDGE_PAIRS = {
    c.name: c
    for c in (
        EdgePairConfig(name="fashion_shoes", source="fashion_mnist", classes=SHOE_CLASSES, domain_a="shoe",
                       description="Fashion-MNIST's sandals, sneakers and ankle boots and edge maps of others"),
        EdgePairConfig(name="mnist", source="mnist", domain_a="digit",
                       description="MNIST digits and edge maps of other digits"),
        EdgePairConfig(name="digits", source="digits", domain_a="digit", side=8,
                       description="scikit-learn's 8x8 digits and edge maps of other digits (needs no download)"),
    )
}


class ZooEdgePairs(tfds.core.GeneratorBasedBuilder):
    """Unpaired images (domain A, label 0) and edge maps of other images (domain B, label 1), from
    disjoint halves of a seeded permutation of each split."""

    name = "zoo_edge_pairs"
    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = list(EDGE_PAIRS.values())
    MANUAL_DOWNLOAD_INSTRUCTIONS = "The four IDX files of the source dataset, as for fashion_mnist / mnist."

    def _info(self):
        config = self.builder_config
        image = tfds.features.Tensor(shape=(config.side, config.side, 1), dtype=np.uint8,
                                     encoding=tfds.features.Encoding.BYTES)
        return tfds.core.DatasetInfo(
            builder=self,
            description=f"{config.description} (Sobel edges, threshold {EDGE_THRESHOLD}). Label = domain.",
            features=tfds.features.FeaturesDict({
                "image": image, "label": tfds.features.ClassLabel(names=[config.domain_a, DOMAINS[1]])}),
            supervised_keys=("image", "label"), disable_shuffling=True)

    def source_files(self, source_dir) -> list[Path]:
        config = self.builder_config
        if config.source == "digits":
            return []
        return list(builders.locate_idx_files(builders.IDX_CONFIGS[config.source], source_dir).values())

    def _split_generators(self, dl_manager):
        config = self.builder_config
        if config.source == "digits":
            source = builders.digits_splits()
        else:
            source = builders.read_idx_splits(builders.IDX_CONFIGS[config.source], dl_manager.manual_dir)
        splits = {}
        for split, (images, labels) in source.items():
            kept = images[np.isin(labels, config.classes)] if config.classes else images
            order = np.random.default_rng(0).permutation(len(kept))
            half = len(kept) // 2
            edges = np.round(edge_map(kept[order[half:]][..., None]) * 255).astype(np.uint8)
            splits[split] = self._generate_examples(kept[order[:half]][..., None], edges)
        return splits

    def _generate_examples(self, images: np.ndarray, edges: np.ndarray):
        """The domains alternate, so that any slice of the stored order (the validation tail)
        holds both."""
        for i in range(max(len(images), len(edges))):
            for label, domain in enumerate((images, edges)):
                if i < len(domain):
                    yield 2 * i + label, {"image": domain[i], "label": label}


def archive_missing_message(directory) -> str:
    return (f"edges2shoes needs the pix2pix archive {EDGES2SHOES_ARCHIVE} (about 2 GB) in {directory}, which "
            f"holds no such file. Download it from {EDGES2SHOES_URL} on a machine with internet and put it "
            f"there (or pass `--set source_dir=DIR` for the directory that holds it); do not unpack it.")


def _safe_member(member: tarfile.TarInfo, archive: Path) -> bool:
    """True for a regular file to read, False for a directory; raises for anything that could
    reach outside the archive's target."""
    name = member.name
    if name.startswith(("/", "\\")) or os.path.isabs(name) or ".." in Path(name).parts or ":" in Path(name).parts[0]:
        raise DataFormatError(f"{archive}: refusing member {name!r}: an absolute path or a path with '..'")
    if member.issym() or member.islnk():
        raise DataFormatError(f"{archive}: refusing member {name!r}: a link")
    if member.isdir():
        return False
    if not member.isfile():
        raise DataFormatError(f"{archive}: refusing member {name!r}: not a regular file")
    return True


EDGES2SHOES_SIDE = 256


def _pair_split(member: tarfile.TarInfo) -> str | None:
    """"train" / "test" for an `edges2shoes/{train,val}/*.jpg` member, else None (skipped)."""
    parts = Path(member.name).parts
    if len(parts) < 2 or parts[-2] not in ("train", "val") or not parts[-1].lower().endswith(".jpg"):
        return None
    return "train" if parts[-2] == "train" else "test"


def _members(archive: Path):
    """(member, its split, the open tar) for every pair of the archive, in order, refusing unsafe
    members; a truncated or corrupt archive raises DataFormatError."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if _safe_member(member, archive) and _pair_split(member):
                    yield member, _pair_split(member), tar
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise DataFormatError(f"{archive}: truncated or corrupt archive ({type(e).__name__}: {e}); download "
                              f"{EDGES2SHOES_URL} again") from None


def scan_edges2shoes(archive: str | os.PathLike) -> dict[str, int]:
    """Pairs per split ("train", and "test" = the archive's val), checking every member header
    before any example is written."""
    archive = Path(archive)
    counts = {"train": 0, "test": 0}
    for _, split, _ in _members(archive):
        counts[split] += 1
    for split, count in counts.items():
        if not count:
            raise DataFormatError(f"{archive}: no edges2shoes/{'train' if split == 'train' else 'val'}/*.jpg members")
    return counts


def read_edges2shoes(archive: str | os.PathLike, split: str):
    """(member name, edges, shoe) of one split, streamed: uint8 halves [256, 256, 3] of each
    side-by-side JPEG (edges left, shoe right)."""
    from PIL import Image

    archive = Path(archive)
    for member, member_split, tar in _members(archive):
        if member_split != split:
            continue
        with tar.extractfile(member) as f:
            data = f.read()
        try:
            image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        except Exception as e:
            raise DataFormatError(f"{archive}: member {member.name!r} is not a readable JPEG ({e})") from None
        if image.shape[:2] != (EDGES2SHOES_SIDE, 2 * EDGES2SHOES_SIDE):
            raise DataFormatError(f"{archive}: member {member.name!r} is {image.shape[1]}x{image.shape[0]}; pix2pix "
                                  f"pairs are {2 * EDGES2SHOES_SIDE}x{EDGES2SHOES_SIDE} (two side-by-side halves)")
        yield member.name, image[:, :EDGES2SHOES_SIDE], image[:, EDGES2SHOES_SIDE:]


class ZooEdges2Shoes(tfds.core.GeneratorBasedBuilder):
    """pix2pix edges2shoes served as two unpaired domains: shoes (A, label 0) and edge maps (B, 1)."""

    name = "zoo_edges2shoes"
    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"Put {EDGES2SHOES_ARCHIVE} ({EDGES2SHOES_URL}) in the manual directory."

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="edges2shoes (Isola et al. 2017) from the pix2pix archive; each side-by-side pair gives "
                        "two examples, the shoe (label 0) and its edge map (label 1).",
            features=_features(tfds.features.Image(shape=(EDGES2SHOES_SIDE, EDGES2SHOES_SIDE, 3),
                                                   encoding_format="jpeg")), supervised_keys=("image", "label"),
            disable_shuffling=True,
            homepage="https://github.com/phillipi/pix2pix")

    def source_files(self, source_dir) -> list[Path]:
        return [find_archive(source_dir or builders.data_root(self) / "downloads" / "manual")]

    def _split_generators(self, dl_manager):
        archive = find_archive(dl_manager.manual_dir)
        scan_edges2shoes(archive)
        return {split: self._generate_examples(archive, split) for split in ("train", "test")}

    def _generate_examples(self, archive, split):
        for name, edges, shoe in read_edges2shoes(archive, split):
            yield f"{name}/shoe", {"image": shoe, "label": 0}
            yield f"{name}/edges", {"image": edges, "label": 1}


def find_archive(directory) -> Path:
    path = Path(directory or ".") / EDGES2SHOES_ARCHIVE
    if not path.is_file():
        raise DataNotFoundError(archive_missing_message(directory))
    return path
