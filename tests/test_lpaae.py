"""The learned-prior AAE: which weights each phase moves under the ablation switches, the
perceptual loss's use of D_I, the mutual-information term's gradient, labels for the supervised prior."""
import numpy as np
import pytest
import tensorflow as tf

from zoo import losses, registry, training


def _model(*overrides, preset="lpaae/tiny"):
    config = registry.resolve(preset_name=preset, overrides=list(overrides))
    _, model = training.build(config)
    return config, model, next(iter(training.train_dataset(config, shuffle_seed=0)))


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
