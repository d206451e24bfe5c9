"""VAE / VampPrior priors and KL terms, and the classifier-based Inception Score / FID."""
import numpy as np
import pytest
import tensorflow as tf

from zoo import classifier, data, metrics, registry, training
from zoo.models.vae import gaussian_log_density


def test_vae_analytic_kl_matches_the_one_sample_estimate_on_average():
    _, model = training.build(registry.resolve(preset_name="vae/tiny"))
    mean = tf.constant([[0.5, -1.0]])
    log_variance = tf.constant([[-0.5, 0.3]])
    z = mean + tf.exp(0.5 * log_variance) * tf.random.stateless_normal([200000, 2], [1, 2])
    estimate = gaussian_log_density(z, mean, log_variance) - model.prior_log_density(z)
    assert float(tf.reduce_mean(estimate)) == pytest.approx(float(model.kl(z, mean, log_variance)[0]), abs=0.01)


def test_vampprior_is_the_mixture_of_posteriors_at_its_pseudo_inputs():
    _, model = training.build(registry.resolve(preset_name="vampprior/tiny"))
    means, log_variances = model.components()
    assert means.shape == (3, 2)
    z = tf.random.stateless_normal([5, 2], [3, 4])
    by_hand = np.log(np.mean([np.exp(gaussian_log_density(z, means[k], log_variances[k])) for k in range(3)], axis=0))
    np.testing.assert_allclose(model.prior_log_density(z), by_hand, rtol=1e-5)
    # Prior samples have the mixture's moments: mean of the component means, and the law of total variance.
    samples = model.prior_sample(60000, tf.constant([5, 6])).numpy()
    variances = np.exp(log_variances.numpy())
    np.testing.assert_allclose(samples.mean(axis=0), means.numpy().mean(axis=0), atol=0.03)
    np.testing.assert_allclose(samples.var(axis=0), variances.mean(axis=0) + means.numpy().var(axis=0), rtol=0.05)


def test_inception_score_and_fid_rank_real_data_above_noise(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    scorer = classifier.Scorer.zoo("digits", epochs=5)
    assert "digits classifier" in scorer.name
    test = data.arrays("digits", "test")["image"]
    noise = np.random.default_rng(0).uniform(size=test.shape).astype(np.float32)
    real_score, _ = metrics.inception_score(scorer.probabilities(test), splits=3)
    noise_score, _ = metrics.inception_score(scorer.probabilities(noise), splits=3)
    assert real_score > 2 * noise_score
    train = data.arrays("digits", "train")["image"]
    assert metrics.frechet_distance(scorer.features(test), scorer.features(train)) < \
        0.2 * metrics.frechet_distance(scorer.features(noise), scorer.features(train))
    # Cached: a second request loads the same network.
    again = classifier.Scorer.zoo("digits", epochs=5)
    np.testing.assert_allclose(again.probabilities(test[:10]), scorer.probabilities(test[:10]), rtol=1e-5)


def test_frechet_distance_of_gaussians_has_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    b = rng.normal(loc=1.0, scale=2.0, size=(20000, 3))
    # |mu|^2 = 3, Tr(I + 4I - 2 * 2I) = 3
    assert metrics.frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
