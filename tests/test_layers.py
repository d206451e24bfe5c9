"""The shared blocks' batch normalization (`batch_norm=True`): batch statistics while training,
moving statistics in evaluation, one global batch under MirroredStrategy (the latter for every
family in test_models.test_mirrored_on_two_cpus_matches_one_device, whose clustering presets have
batch norm on)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import layers, registry, training


@pytest.mark.parametrize("architecture,widths", [("mlp", (16, 16)), ("conv", (4, 8))])
def test_batch_norm_follows_every_hidden_layer(architecture, widths):
    encoder = layers.image_encoder((8, 8, 1), architecture, widths, {"z": 3}, batch_norm=True)
    decoder = layers.image_decoder(3, (8, 8, 1), architecture, widths, batch_norm=True)
    for network in (encoder, decoder):
        hidden = [layer for layer in network.layers if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D,
                                                                          keras.layers.Conv2DTranspose))][:-1]
        norms = {layer.name for layer in network.layers if isinstance(layer, keras.layers.BatchNormalization)}
        assert hidden and {f"{layer.name}_bn" for layer in hidden} == norms
        assert not any(layer.use_bias for layer in hidden)  # batch norm's offset is the bias
    plain = layers.image_encoder((8, 8, 1), architecture, widths, {"z": 3})
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)


def test_batch_statistics_in_training_moving_statistics_in_evaluation():
    encoder = layers.image_encoder((8, 8, 1), "mlp", (16,), {"z": 3}, batch_norm=True)
    images = tf.random.uniform([6, 8, 8, 1], seed=0)
    alone = encoder(images[:1], training=False)["z"]
    in_batch = encoder(images, training=False)["z"][:1]
    np.testing.assert_allclose(alone, in_batch, rtol=1e-5, atol=1e-6)  # evaluation: per example
    trained_alone = encoder(images[:2], training=True)["z"][:1]
    trained_in_batch = encoder(images, training=True)["z"][:1]
    assert not np.allclose(trained_alone, trained_in_batch)  # training: the batch's statistics


def test_training_updates_the_moving_statistics_and_evaluation_does_not(tmp_path):
    config = registry.resolve(preset_name="aae/tiny_clustering")
    _, model = training.build(config)
    batch = next(iter(training.train_dataset(config)))
    moving = [v for v in model.encoder.non_trainable_weights if "moving_mean" in v.path]
    assert moving
    before = [v.numpy().copy() for v in moving]
    model.train_step(batch)
    after = [v.numpy().copy() for v in moving]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    model.encode(batch["image"], tf.constant([0, 0]))
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(after, moving))


def test_code_batch_norm_normalizes_every_head_but_the_standardized_ones():
    encoder = layers.image_encoder((8, 8, 1), "mlp", (16,), {"z": 3, "y_logits": 4}, batch_norm=True,
                                   code_batch_norm=True)
    assert {"encoder_z_bn", "encoder_y_logits_bn"} <= {layer.name for layer in encoder.layers}
    codes = encoder(tf.random.uniform([64, 8, 8, 1], seed=0), training=True)
    for code in codes.values():  # training: zero mean, unit spread per unit over the batch
        np.testing.assert_allclose(np.mean(code, axis=0), 0.0, atol=1e-4)
        np.testing.assert_allclose(np.std(code, axis=0), 1.0, rtol=0.02)
    standardized = layers.image_encoder((8, 8, 1), "mlp", (16,), {"z": 3, "y_logits": 4}, code_batch_norm=True,
                                        standardized_heads={"y_logits": 3.0})
    names = {layer.name for layer in standardized.layers}
    assert "encoder_z_bn" in names and "encoder_y_logits_bn" not in names and "encoder_y_logits_norm" in names


@pytest.mark.parametrize("conditioning", ["location_invariant", "location_dependent"])
def test_joint_discriminator_as_appendix_b_table_1(conditioning):
    """conv-BN, conv-BN, FC-BN (ReLU), FC 1: batch norm after every hidden layer, none on the logit."""
    discriminator = layers.joint_discriminator((8, 8, 1), 5, "conv", (4, 8), conditioning, bias_hidden=6, dense=16,
                                               batch_norm=True)
    norms = {layer.name for layer in discriminator.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert norms == {"joint_discriminator_conv0_bn", "joint_discriminator_conv1_bn", "joint_discriminator_dense_bn"}
    dense = discriminator.get_layer("joint_discriminator_dense")
    assert dense.units == 16 and not dense.use_bias
    logit = discriminator([tf.random.uniform([4, 8, 8, 1], seed=1), tf.random.normal([4, 5], seed=2)], training=True)
    assert logit.shape == (4, 1)
    plain = layers.joint_discriminator((8, 8, 1), 5, "conv", (4, 8), conditioning, bias_hidden=6)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
