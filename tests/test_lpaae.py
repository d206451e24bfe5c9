"""The learned-prior AAE: which weights each phase moves under the ablation switches, the
perceptual loss's use of D_I, the mutual-information term's gradient, labels for the supervised prior."""
import numpy as np
import pytest
import tensorflow as tf

from zoo import data, losses, registry, training


def _model(*overrides, preset="lpaae/tiny"):
    config = registry.resolve(preset_name=preset, overrides=list(overrides))
    _, model = training.build(config)
    return config, model, next(iter(training.train_dataset(config)))


@pytest.mark.parametrize("switch,movers", [
    ("decoder_in_prior_phase=true", {"code_generator", "decoder"}),
    ("decoder_in_prior_phase=false", {"code_generator"}),
])
def test_prior_improvement_moves_the_code_generator_and_the_decoder_only_with_switch_c(switch, movers):
    _, model, batch = _model(switch)
    assert set(model.phases["prior_improvement"]) == movers
    assert model.phases["reconstruction"] == ("encoder", "decoder")
    before = {v.path: v.numpy().copy() for v in model.decoder.weights}
    model.prior_improvement_phase(batch)
    moved = any(not np.array_equal(v.numpy(), before[v.path]) for v in model.decoder.weights)
    assert moved == ("decoder" in movers)


def test_without_a_learned_prior_there_is_no_code_generator():
    _, model, _ = _model("learned_prior=false", "decoder_in_prior_phase=false")
    assert not hasattr(model, "code_generator") and "prior_improvement" not in model.phases


@pytest.mark.parametrize("output", ["standardized", "tanh", "linear"])
def test_code_generator_output_fixes_the_learned_priors_scale_or_leaves_it_free(output):
    _, model, _ = _model(f"code_generator_output={output}", "code_size=3")
    for v in model.code_generator.get_layer("code_generator_logits").weights:
        v.assign(v * 1000.0)  # a CG whose raw output has drifted far
    codes = model._train_prior(512, 1)[0].numpy()
    if output == "standardized":
        np.testing.assert_allclose(codes.mean(axis=0), 0.0, atol=1e-3)
        np.testing.assert_allclose(codes.std(axis=0), 1.0, rtol=1e-2)
    elif output == "tanh":
        assert np.abs(codes).max() <= 1.0
    else:
        assert codes.std(axis=0).max() > 10.0


def test_unknown_code_generator_output():
    with pytest.raises(ValueError, match="code_generator_output"):
        registry.resolve(preset_name="lpaae/tiny", overrides=["code_generator_output=sigmoid"])


@pytest.mark.parametrize("perceptual", [True, False])
def test_perceptual_loss_reads_the_image_discriminator_without_moving_it(perceptual):
    _, model, batch = _model(f"perceptual={str(perceptual).lower()}")
    discriminator = [v.numpy().copy() for v in model.image_discriminator.weights]
    model.reconstruction_phase(batch)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(discriminator, model.image_discriminator.weights))
    # The same autoencoder under other D_I weights: the perceptual loss changes, the pixel loss not.
    first = float(model.reconstruction_loss(batch["image"]))
    for v in model.image_discriminator.weights:
        v.assign(v * 2.0)
    second = float(model.reconstruction_loss(batch["image"]))
    assert (second != pytest.approx(first, rel=1e-3)) == perceptual


@pytest.mark.parametrize("preset", ["lpaae/tiny_supervised", "lpaae/tiny_unsupervised"])
def test_information_term_gradient_reaches_the_code_generator(preset):
    _, model, batch = _model(preset=preset)
    with tf.GradientTape() as tape:
        generated, condition = model._generated(2, 1)
        information = losses.softmax_cross_entropy(tf.argmax(condition, axis=-1),
                                                   model.q_network(generated, training=True)["logits"])
    gradients = tape.gradient(information, model.code_generator.trainable_variables)
    assert all(g is not None for g in gradients) and any(float(tf.reduce_sum(tf.abs(g))) > 0 for g in gradients)
    assert "q_network" in model.phases["prior_improvement"]


def test_supervised_prior_trains_on_labels_and_samples_the_requested_condition():
    config, model, batch = _model(preset="lpaae/tiny_supervised")
    assert "label" in batch and model.num_conditions == 10
    # The code discriminator sees (code, label): its input is code_size + classes wide.
    assert model.code_discriminator.inputs[0].shape[-1] == config.code_size + 10
    images = model.sample_conditional(tf.constant([3, 3, 7]), tf.constant([1, 2]))
    assert images.shape == (3, 8, 8, 1)
    _, unsupervised, batch = _model(preset="lpaae/tiny_unsupervised")
    assert "label" not in batch and unsupervised.code_discriminator.inputs[0].shape[-1] == config.code_size


def _caption_file(tmp_path, rows=None, size=4):
    """Two captions per digit class, each a random `size`-D vector; example i gets its class's."""
    labels = data.arrays("digits", "train")["label"]
    table = np.random.default_rng(0).normal(size=(20, size)).astype(np.float32)
    index = np.stack([2 * labels, 2 * labels + 1], axis=1)[:rows]
    path = str(tmp_path / "captions.npz")
    np.savez(path, train_table=table, train_index=index)
    return path, table, labels


def test_embedding_prior_reads_captions_and_regresses_them(tmp_path):
    path, table, _ = _caption_file(tmp_path)
    config, model, batch = _model("conditioning=embedding", f"embeddings={path}", "embedding_size=4")
    assert batch["embedding"].shape == (config.batch_size, 2, 4) and "label" not in batch
    assert model.code_discriminator.inputs[0].shape[-1] == config.code_size + 4
    # One training step: every phase runs, the bank holds this batch's captions (rows of the table).
    model.train_step(batch)
    assert int(model.bank_written) == config.batch_size
    remembered = model.bank.numpy()[:config.batch_size]
    assert all(np.isclose(table, row).all(axis=1).any() for row in remembered)
    assert model.sample(3, tf.constant([1, 2])).shape == (3, 8, 8, 1)
    assert model.sample_conditional(tf.constant(table[:3]), tf.constant([1, 2])).shape == (3, 8, 8, 1)
    # L_I, a squared error to s, reaches CG.
    with tf.GradientTape() as tape:
        generated, condition = model._generated(2, 1, tf.constant(table[:2]))
        information = tf.reduce_sum(tf.square(model.q_network(generated, training=True)["logits"] - condition))
    gradients = tape.gradient(information, model.code_generator.trainable_variables)
    assert all(g is not None for g in gradients) and any(float(tf.reduce_sum(tf.abs(g))) > 0 for g in gradients)


def test_embedding_prior_refuses_mismatched_captions(tmp_path):
    path, _, labels = _caption_file(tmp_path)
    with pytest.raises(ValueError, match="embedding_size=5"):
        _model("conditioning=embedding", f"embeddings={path}", "embedding_size=5")
    short, _, _ = _caption_file(tmp_path, rows=len(labels) - 1)
    with pytest.raises(data.DataFormatError, match="caption rows"):
        _model("conditioning=embedding", f"embeddings={short}", "embedding_size=4")
    with pytest.raises(ValueError, match="needs an `embeddings` file"):
        _model("conditioning=embedding")
    with pytest.raises(data.DataNotFoundError, match="no caption embeddings"):
        _model("conditioning=embedding", f"embeddings={tmp_path / 'missing.npz'}", "embedding_size=4")


def test_embedding_prior_trains_exports_and_serves_captions(tmp_path):
    from zoo.export import saved_model

    path, table, _ = _caption_file(tmp_path)
    config = registry.resolve(preset_name="lpaae/tiny", overrides=["conditioning=embedding", f"embeddings={path}",
                                                                   "embedding_size=4"])
    training.run(config, str(tmp_path / "run"), verbose=0)
    served = tf.saved_model.load(saved_model.export(str(tmp_path / "run"), str(tmp_path / "export")))
    request = {"embeddings": tf.constant(table[:3]), "seed": tf.constant([1, 2])}
    images = served.signatures["sample_conditional"](**request)["images"].numpy()
    assert images.shape == (3, 8, 8, 1)
    np.testing.assert_array_equal(images, served.signatures["sample_conditional"](**request)["images"].numpy())
    # Unconditional draws take captions from the bank the checkpoint restored.
    assert served.signatures["sample"](n=tf.constant(2), seed=tf.constant([1, 2]))["images"].shape == (2, 8, 8, 1)
