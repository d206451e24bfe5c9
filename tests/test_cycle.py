"""CycleIAE / CycleGAN: the generator and its noise-conditional batch norm, the two-domain data
(the edges2shoes archive reader, unsafe and corrupt archives), the headline command, what each
phase reads. The registry-wide tests (phases move their own weights, export, mirrored) cover the
tiny presets too."""
import io
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from zoo import data, layers, registry, training
from zoo.data import domains
from zoo.data.idx import DataFormatError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("side", [28, 64, 128, 256])
def test_generator_and_discriminator_shapes(side):
    generator = layers.resnet_generator((side, side, 3), 3, (4, 8, 16), blocks=1, noise_size=2)
    out = generator([tf.zeros((2, side, side, 3)), tf.zeros((2, 2))])
    assert out.shape == (2, side, side, 3)
    assert layers.patch_discriminator((side, side, 6), (4, 8, 16))(tf.zeros((2, side, side, 6))).shape == \
        (2, side // 4, side // 4, 1)
    assert layers.residual_blocks_for((side, side, 3)) == (9 if side >= 256 else 6)


def test_noise_batch_norm_starts_at_the_identity_and_can_depend_on_the_noise_in_every_layer():
    generator = layers.resnet_generator((16, 16, 1), 1, (4, 8), blocks=1, noise_size=3)
    projections = [layer for layer in generator.layers if layer.name.endswith(("_gamma", "_beta"))]
    norms = [layer for layer in generator.layers if layer.name.endswith("_bn")]
    assert len(projections) == 2 * len(norms) == 10  # in, down, 2 in the block, up: every normalization
    images = tf.random.uniform((4, 16, 16, 1), seed=1)

    def outputs(training_mode):
        return [generator([images, tf.random.stateless_normal((4, 3), [seed, 0])], training=training_mode)
                for seed in (2, 2, 3)]

    for training_mode in (True, False):  # at initialization: plain batch norm, the noise has no say
        first, _, other = outputs(training_mode)
        np.testing.assert_array_equal(first, other)
    for layer in projections:  # any non-zero projection makes every layer depend on its noise
        layer.kernel.assign(tf.random.stateless_normal(layer.kernel.shape, [4, 0]))
    for training_mode in (True, False):
        first, again, other = outputs(training_mode)
        np.testing.assert_array_equal(first, again)
        assert float(tf.reduce_mean(tf.abs(first - other))) > 1e-3
    deterministic = layers.resnet_generator((16, 16, 1), 1, (4, 8), blocks=1)
    assert not [layer for layer in deterministic.layers if layer.name.endswith("_gamma")]


def test_cycleiae_decoder_learns_to_use_its_noise():
    """Conditional batch norm starts at the identity: the decoder's output depends on its noise only
    once training has moved the noise projections."""
    config = registry.resolve(preset_name="cycleiae/tiny", steps=3)
    _, model = training.build(config)
    batch = next(iter(training.train_dataset(config)))
    codes = batch["image"][:4]

    def spread():
        draws = [model.decode(codes, seed=tf.constant([s, 0], tf.int32)) for s in (1, 2)]
        return float(tf.reduce_mean(tf.abs(draws[0] - draws[1])))

    assert spread() == 0.0
    model.fit(training.train_dataset(config), epochs=1, steps_per_epoch=3, verbose=0)
    assert spread() > 0.0


def _jpeg(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _pair(seed: int) -> np.ndarray:
    """A 512x256 pix2pix pair: a black edge square on white (left), a coloured shoe blob (right)."""
    rng = np.random.default_rng(seed)
    pair = np.full((256, 512, 3), 255, np.uint8)
    top, left = rng.integers(40, 100, size=2)
    pair[top:top + 100, left, :] = pair[top:top + 100, left + 100, :] = 0
    pair[top, left:left + 100, :] = pair[top + 100, left:left + 101, :] = 0
    pair[top:top + 100, 256 + left:256 + left + 100] = rng.integers(0, 255, size=3, dtype=np.uint8)
    return pair


def _write_archive(path, members: dict) -> None:
    """members: name -> bytes (a regular file) or ("symlink", target)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))


def _edges2shoes_archive(directory, train=5, val=2):
    os.makedirs(directory, exist_ok=True)
    members = {f"edges2shoes/{split}/{i}_AB.jpg": _jpeg(_pair(i + 100 * (split == "val")))
               for split, count in (("train", train), ("val", val)) for i in range(count)}
    _write_archive(os.path.join(directory, domains.EDGES2SHOES_ARCHIVE), members)


def test_edges2shoes_archive_gives_unpaired_domains(tmp_path):
    _edges2shoes_archive(tmp_path / "archive")
    options = dict(data_dir=tmp_path / "tfds", source_dir=tmp_path / "archive")
    spec = data.spec("edges2shoes", **options)
    assert spec.image_shape == (256, 256, 3) and spec.label_names == domains.DOMAINS
    assert spec.num_examples == {"train": 8, "validation": 2, "test": 4}
    test = data.arrays("edges2shoes", "test", **options)
    shoes, edges = test["image"][test["label"] == 0], test["image"][test["label"] == 1]
    assert len(shoes) == len(edges) == 2
    assert edges.mean() > 0.9 and shoes.mean() < edges.mean()  # white edge maps, coloured shoes


def test_unpaired_batches_draw_each_domain_in_its_own_order():
    config = registry.resolve(preset_name="cycleiae/tiny", batch_size=8)
    batch = next(iter(training.train_dataset(config)))
    assert set(batch) == {"image", "code_image"}
    edges = domains.edge_map(batch["image"].numpy())
    # Codes are edge maps (binary), images are shoes (grey levels), and no code is its image's edges.
    assert set(np.unique(batch["code_image"].numpy())) <= {0.0, 1.0}
    assert len(np.unique(batch["image"].numpy())) > 2
    assert not any(np.array_equal(e, c) for e, c in zip(edges, batch["code_image"].numpy()))


@pytest.mark.parametrize("members,message", [
    ({"../evil.jpg": b"x"}, "absolute path or a path with '..'"),
    ({"/tmp/evil.jpg": b"x"}, "absolute path or a path with '..'"),
    ({"edges2shoes/train/../../evil.jpg": b"x"}, "absolute path or a path with '..'"),
    ({"edges2shoes/train/1_AB.jpg": ("symlink", "/etc/passwd")}, "a link"),
    ({"edges2shoes/train/1_AB.jpg": b"not a jpeg", "edges2shoes/val/1_AB.jpg": b"x"}, "not a readable JPEG"),
])
def test_unsafe_or_bad_members_are_refused(tmp_path, members, message):
    archive = tmp_path / domains.EDGES2SHOES_ARCHIVE
    _write_archive(archive, members)
    with pytest.raises(DataFormatError, match=message):
        domains.scan_edges2shoes(archive)
        list(domains.read_edges2shoes(archive, "train"))
    assert sorted(os.listdir(tmp_path)) == [domains.EDGES2SHOES_ARCHIVE]  # nothing written beside it


def test_truncated_archive_is_named(tmp_path):
    _edges2shoes_archive(tmp_path, train=3, val=1)
    archive = tmp_path / domains.EDGES2SHOES_ARCHIVE
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupt archive"):
        domains.scan_edges2shoes(archive)


def _train(args, env):
    return subprocess.run([sys.executable, "-m", "zoo.train", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env})


def test_headline_command_without_the_archive_says_what_to_do(tmp_path):
    result = _train(["--model=cycleiae", "--dataset=edges2shoes", f"--workdir={tmp_path / 'run'}"],
                    {"TFDS_DATA_DIR": str(tmp_path / "tfds")})
    assert result.returncode == 2
    assert domains.EDGES2SHOES_URL in result.stderr and str(tmp_path / "tfds" / "downloads" / "manual") in result.stderr


def test_headline_command_trains_with_the_archive_in_its_documented_place(tmp_path):
    _edges2shoes_archive(tmp_path / "tfds" / "downloads" / "manual")
    result = _train(["--model=cycleiae", "--dataset=edges2shoes", "--preset=tiny", "--steps=2",
                     f"--workdir={tmp_path / 'run'}"], {"TFDS_DATA_DIR": str(tmp_path / "tfds")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "images" / "translations.png").stat().st_size > 0


def test_one_domain_datasets_are_refused():
    with pytest.raises(ValueError, match="needs a two-domain dataset.*digits has 10 classes"):
        training.build(registry.resolve(preset_name="cycleiae/tiny", dataset="digits"))


@pytest.mark.parametrize("shared_input_gradient", [True, False])
def test_reconstruction_generator_sees_only_the_negative_pair(shared_input_gradient):
    """The generator update's D(x, z) inputs: reconstructions x_hat (never the data x) and the code,
    through which the encoder's update reaches D's code input unless the switch holds it fixed."""
    config = registry.resolve(preset_name="cycleiae/tiny", shared_input_gradient=shared_input_gradient)
    _, model = training.build(config)
    batch = next(iter(training.train_dataset(config)))
    seen = []
    joint = model._joint
    model._joint = lambda images, codes: seen.append((images, codes)) or joint(images, codes)
    with tf.GradientTape(persistent=True) as tape:
        model.reconstruction_generator_phase(batch)
    (images, codes), = seen
    assert not np.allclose(images.numpy(), batch["image"].numpy())
    through_code = tape.gradient(codes, model.encoder.trainable_variables)[0]  # (the sum of the codes)
    assert (through_code is not None) == shared_input_gradient


def test_minibatch_stddev_tells_a_repeated_image_from_varied_ones():
    from zoo import metrics

    layer = layers.MinibatchStddev()
    varied = tf.random.stateless_uniform((4, 6, 6, 3), [1, 2])
    repeated = tf.tile(varied[:1], [4, 1, 1, 1])
    assert layer(varied).shape == (4, 6, 6, 4)
    assert float(tf.reduce_max(layer(repeated)[..., 3])) < 1e-3 < float(tf.reduce_min(layer(varied)[..., 3]))
    # The CycleIAE's code discriminator has it by default; the CycleGAN's does not.
    for name, expected in (("cycleiae/fashion_edges2shoes", True), ("cyclegan/fashion_edges2shoes", False)):
        assert registry.resolve(preset_name=name).minibatch_stddev == expected
    _, model = training.build(registry.resolve(preset_name="cycleiae/tiny", overrides=["minibatch_stddev=true"]))
    assert any(isinstance(layer, layers.MinibatchStddev) for layer in model.code_discriminator.layers)
    assert metrics.spread(repeated) == pytest.approx(0.0, abs=1e-6) and metrics.spread(varied) > 0.1
    assert metrics.input_kept(varied, varied) == 0.0 and metrics.input_kept(repeated, varied) > 0.5


def test_minibatch_stddev_on_two_replicas_has_one_devices_gradient(mirrored):
    """Each replica's loss depends on the other replica's examples through the batch's spread: the
    gradient must carry those cross terms, as on one device."""
    layer = layers.MinibatchStddev()
    h = tf.random.stateless_normal((4, 3, 3, 2), [1, 2])
    weights = tf.random.stateless_normal((3, 3, 3), [3, 4])

    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * weights) / 4.0
        return tape.gradient(loss, x)

    batch = next(iter(mirrored.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(h).batch(4))))
    replicated = mirrored.run(tf.function(gradient), args=(batch,))
    together = tf.concat(mirrored.experimental_local_results(replicated), axis=0)
    np.testing.assert_allclose(together.numpy(), gradient(h).numpy(), atol=1e-6)
