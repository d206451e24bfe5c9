"""The implicit autoencoder's reconstruction GAN (IAE Section 2, Eq. 7, Appendix B.1)."""
import numpy as np
import pytest
import tensorflow as tf

from zoo import data, registry, training


def _model(*overrides):
    config = registry.resolve(preset_name="iae/tiny", overrides=list(overrides))
    return training.build(config)[1]


class _Spy:
    """Stands in for D(x, z), recording the images and codes it is shown."""

    def __init__(self, discriminator):
        self.discriminator, self.images, self.codes = discriminator, [], []

    def __call__(self, inputs, training=False):
        self.images.append(inputs[0])
        self.codes.append(inputs[1])
        return self.discriminator(inputs, training=training)


def test_generator_update_sees_only_the_negative_example(monkeypatch):
    model = _model()
    images = tf.constant(data.arrays("digits", "train")["image"][:4])
    spy = _Spy(model.joint_discriminator)
    monkeypatch.setattr(model, "joint_discriminator", spy, raising=False)
    model._seed_step = tf.constant(0)
    model.reconstruction_generator_phase({"image": images})
    assert spy.images, "the generator phase did not consult D(x, z)"
    for shown in spy.images:  # never the data: no positive pair enters the generator loss
        assert not np.allclose(shown.numpy(), images.numpy())


def test_discriminator_phase_labels_data_pairs_real():
    """After a few discriminator steps D scores (x, z_hat) above (x_hat, z_hat)."""
    model = _model("batch_size=8", "discriminator_learning_rate=0.01")
    images = tf.constant(data.arrays("digits", "train")["image"][:8])
    for step in range(50):
        model._seed_step = tf.constant(step)
        model.reconstruction_discriminator_phase({"image": images})
    code, reconstruction = model._reconstruction_pair(images, 11, 12)
    real = model.joint_discriminator([images, code]).numpy().mean()
    fake = model.joint_discriminator([reconstruction, code]).numpy().mean()
    assert real > fake


@pytest.mark.parametrize("conditioning,shape", [("location_dependent", (4, 4, 1)), ("location_invariant", (1, 1, 4))])
def test_the_code_enters_d_as_an_adaptive_bias(conditioning, shape):
    model = _model(f"joint_conditioning={conditioning}")
    d = model.joint_discriminator
    bias = [layer for layer in d.layers if layer.__class__.__name__ == "Reshape"][-1]
    assert tuple(bias.output.shape[1:]) == shape
    images = tf.constant(data.arrays("digits", "train")["image"][:2])
    code = tf.random.normal([2, model.code_dim], seed=1)
    assert not np.allclose(d([images, code]).numpy(), d([images, code + 1.0]).numpy())


def test_deterministic_iae_without_regularization_is_an_autoencoder():
    """No eps, no n, no regularization GAN: the reconstruction GAN alone learns to reconstruct
    (Section 2: the deterministic decoder's reconstructions match their inputs). 16 digits, a
    short run: the error falls below half the mean image's and most reconstructions are nearer
    their own input than any other of the 16."""
    config = registry.resolve(preset_name="iae/default", overrides=[
        "architecture=mlp", "widths=(256,)", "joint_discriminator_widths=(256,256)", "code_size=16",
        "noise_size=0", "decoder_noise_size=0", "adversarial=false", "batch_size=16"])
    _, model = training.build(config)
    images = data.arrays("digits", "train")["image"][:16]
    batch = {"image": tf.constant(images)}
    step = tf.function(model.train_step)
    for _ in range(3000):
        step(batch)
    reconstructions = model.reconstruct(images, tf.constant([0, 0])).numpy()
    distances = ((reconstructions[:, None] - images[None]) ** 2).mean(axis=(2, 3, 4))
    mean_image_error = ((images - images.mean(0)) ** 2).mean()
    assert np.diag(distances).mean() < 0.5 * mean_image_error
    assert (np.argmin(distances, axis=1) == np.arange(16)).sum() >= 12  # chance: 1 of 16


def test_mixture_of_gaussians_has_the_stated_components():
    from zoo.data import toys

    points, labels, means = toys.mixture_of_gaussians(70000, seed=0, components=7, radius=2.0, std=0.05)
    points = points.reshape(-1, 2)
    assert points.shape == (70000, 2) and means.shape == (7, 2)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(np.bincount(labels) / len(labels), 1 / 7, atol=0.01)
    for k in range(7):
        members = points[labels == k]
        np.testing.assert_allclose(members.mean(axis=0), means[k], atol=0.005)
        np.testing.assert_allclose(members.std(axis=0), 0.05, rtol=0.05)


def test_four_points_toy():
    from zoo.data import toys

    points, labels, corners = toys.four_points(4000, seed=0)
    assert set(map(tuple, points.reshape(-1, 2))) == set(map(tuple, corners))
    np.testing.assert_allclose(np.bincount(labels) / 4000, 0.25, atol=0.03)


@pytest.mark.parametrize("standardized", [False, True])
def test_standardized_cluster_logits_cannot_put_a_batch_in_one_category(standardized):
    """A category favored for every input (here by a large bias) takes the whole batch unless the
    logits are standardized over the batch (`cluster_logit_scale`)."""
    model = _model("code_size=0", "num_clusters=10", f"cluster_logit_scale={3.0 if standardized else 0.0}")
    head = model.encoder.get_layer("encoder_y_logits")
    bias = np.zeros(10, np.float32)
    bias[3] = 100.0
    head.bias.assign(bias)
    images = tf.constant(data.arrays("digits", "train")["image"][:32])
    categories = np.argmax(model._encode_train(images, 0)["y"].numpy(), axis=-1)
    if standardized:
        assert len(set(categories)) > 1
    else:
        assert set(categories) == {3}


def test_fiae_code_recovery_counts_categories_q_reads_back_from_generated_images(monkeypatch):
    config = registry.resolve(preset_name="fiae/tiny", overrides=["code_size=0", "num_clusters=4"])
    model = training.build(config)[1]
    # a generator that paints its category into the image, and a q that reads it back or not
    monkeypatch.setattr(model, "decode", lambda code, seed=None: tf.reshape(
        tf.repeat(code, 16, axis=1)[:, :64], [-1, 8, 8, 1]))
    monkeypatch.setattr(model, "classify", lambda images, seed: tf.reshape(images, [-1, 64])[:, ::16])
    assert model.sample_metrics(tf.constant([0, 1]))["code_recovery"] == 1.0
    monkeypatch.setattr(model, "classify", lambda images, seed: tf.one_hot(tf.zeros(tf.shape(images)[0], tf.int32), 4))
    assert abs(model.sample_metrics(tf.constant([0, 1]))["code_recovery"] - 0.25) < 0.05


def test_fiae_image_r1_penalizes_the_discriminator_slope_at_data_and_reports_the_gan_loss():
    images = tf.constant(data.arrays("digits", "train")["image"][:2])
    runs = {}
    for gamma in (0.0, 100.0):
        model = training.build(registry.resolve(preset_name="fiae/tiny", overrides=[f"image_r1={gamma}"]))[1]
        model._seed_step = tf.constant(0)
        loss = float(model.image_discriminator_phase({"image": images})["image_discriminator_loss"])
        runs[gamma] = loss, [v.numpy() for v in model.image_discriminator.trainable_variables]
    assert runs[0.0][0] == pytest.approx(runs[100.0][0])  # same init, same draws: the GAN part alone
    assert any(not np.allclose(a, b) for a, b in zip(runs[0.0][1], runs[100.0][1]))


def _fiae_generator_step(monkeypatch, *overrides):
    config = registry.resolve(preset_name="fiae/tiny", overrides=["code_size=0", "num_clusters=4", *overrides])
    model = training.build(config)[1]
    spy = _Spy(model.joint_discriminator)
    monkeypatch.setattr(model, "joint_discriminator", spy, raising=False)
    model._seed_step = tf.constant(0)
    metrics = model.reconstruction_generator_phase({"image": tf.constant(data.arrays("digits", "train")["image"][:8])})
    return metrics, spy.codes, [v.numpy() for v in model.decoder.trainable_variables]


def test_fiae_positive_pair_gradient_moves_the_generator_through_the_prior_pair(monkeypatch):
    """Section 4: with the switch the generator also learns from the positive pair (g(z, n), z)."""
    _, codes, negative_only = _fiae_generator_step(monkeypatch)
    assert len(codes) == 1 and not np.allclose(tf.reduce_max(codes[0], -1).numpy(), 1.0)  # q's soft code only
    _, codes, both = _fiae_generator_step(monkeypatch, "positive_pair_gradient=true")
    assert len(codes) == 2 and np.allclose(tf.reduce_sum(codes[1], -1).numpy(), 1.0)
    assert set(np.unique(codes[1].numpy())) <= {0.0, 1.0}  # the prior's one-hot z
    assert any(not np.allclose(a, b) for a, b in zip(negative_only, both))


def test_fiae_code_information_term_reaches_the_generator(monkeypatch):
    metrics, _, without = _fiae_generator_step(monkeypatch)
    assert "code_information_loss" not in metrics
    metrics, _, with_term = _fiae_generator_step(monkeypatch, "code_information=1")
    assert 0.0 < float(metrics["code_information_loss"]) < 10.0
    assert any(not np.allclose(a, b) for a, b in zip(without, with_term))
    with pytest.raises(ValueError, match="categorical"):
        registry.resolve(preset_name="fiae/tiny", overrides=["code_information=1"])


def _stack(network):
    return [(type(layer).__name__, getattr(layer, "units", None) or getattr(layer, "filters", None))
            for layer in network.layers if not isinstance(layer, tf.keras.layers.InputLayer)]


def test_mnist_presets_build_appendix_b_table_1():
    """iae/mnist_*: FC 2000 - FC 2000 encoder / decoder with BN after every hidden layer and after
    the code layer, D(x, z) conv 64 - conv 128 - FC 1024 with BN, a 2000-2000 regularization D
    (shapes on `digits`' 8 x 8 images; parameter counts by the table's layer sizes)."""
    config = registry.resolve(preset_name="iae/mnist_deterministic", dataset="digits", overrides=["adversarial=true"])
    model = training.build(config)[1]
    pixels, hidden, code = 64, 2000, 20
    block = [("Dense", hidden), ("BatchNormalization", None), ("ReLU", None)]
    assert _stack(model.encoder) == [("Flatten", None), *block, *block, ("Dense", code),
                                         ("BatchNormalization", None), ("Activation", None)]
    assert _stack(model.decoder)[:6] == block * 2 and _stack(model.decoder)[6] == ("Dense", pixels)
    norm = 4 * hidden  # gamma, beta, moving mean and variance; hidden Dense layers have no bias before BN
    assert model.encoder.count_params() == (pixels * hidden + norm + hidden * hidden + norm + (hidden + 1) * code
                                            + 4 * code)
    assert model.decoder.count_params() == code * hidden + norm + hidden * hidden + norm + (hidden + 1) * pixels
    joint = [name for name, _ in _stack(model.joint_discriminator)]
    assert [unit for name, unit in _stack(model.joint_discriminator) if name in ("Conv2D", "Dense")][-4:] == \
        [64, 128, 1024, 1]
    assert joint.count("BatchNormalization") == 3
    assert [unit for name, unit in _stack(model.z_discriminator) if name == "Dense"] == [2000, 2000, 1]
