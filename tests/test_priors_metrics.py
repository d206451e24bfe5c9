import numpy as np
import pytest
import tensorflow as tf

from zoo import metrics, priors

SEED = tf.constant([3, 4], tf.int32)


def test_gaussian_prior_statistics():
    z = priors.gaussian(4).sample(20000, SEED).numpy()
    assert z.shape == (20000, 4)
    np.testing.assert_allclose(z.mean(0), 0, atol=0.03)
    np.testing.assert_allclose(z.std(0), 1, atol=0.03)


def test_categorical_prior_is_uniform_one_hot():
    y = priors.categorical(5).sample(20000, SEED).numpy()
    assert set(np.unique(y)) == {0.0, 1.0} and np.all(y.sum(1) == 1)
    np.testing.assert_allclose(y.mean(0), 0.2, atol=0.01)


def test_clusters_used_counts_clusters_holding_a_share_of_the_examples():
    probs = np.eye(4)[[0] * 90 + [1] * 9 + [2]]
    assert metrics.clusters_used(probs) == 3
    assert metrics.clusters_used(probs, share=0.05) == 2
    assert metrics.clusters_used(np.eye(4)[[3] * 50]) == 1


def test_nearest_prior_condition_scores_codes_by_the_mode_they_fall_in():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 4)) * 10
    conditions = np.repeat(np.arange(3), 50)
    prior = centres[conditions] + rng.normal(size=(150, 4))
    labels = np.array([0, 1, 2] * 20)
    codes = centres[labels] + rng.normal(size=(60, 4))
    assert metrics.nearest_condition_scores(prior, conditions, codes, labels, "supervised") == {
        "nearest_prior_label_agreement": 1.0}
    # Unsupervised categories carry no names: a permutation of them costs nothing.
    permuted = (conditions + 1) % 3
    assert metrics.nearest_condition_scores(prior, permuted, codes, labels, "unsupervised") == {
        "nearest_prior_category_error": 0.0}
    assert metrics.nearest_condition_scores(prior, permuted, codes, labels, "supervised")[
        "nearest_prior_label_agreement"] == 0.0


def test_mixture_prior_puts_mass_near_its_modes():
    z = priors.gaussian_mixture(2, 10, radius=4.0, scale=0.5).sample(5000, SEED).numpy()
    angles = 2 * np.pi * np.arange(10) / 10
    modes = 4.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
    nearest = np.min(np.linalg.norm(z[:, None] - modes[None], axis=-1), axis=1)
    assert np.mean(nearest < 1.5) > 0.98  # 3 standard deviations
    counts = np.bincount(np.argmin(np.linalg.norm(z[:, None] - modes[None], axis=-1), axis=1), minlength=10)
    assert counts.min() > 400


def test_prior_sampling_is_reproducible_per_seed():
    prior = priors.gaussian(3)
    np.testing.assert_array_equal(prior.sample(5, SEED), prior.sample(5, SEED))
    assert not np.allclose(prior.sample(5, SEED), prior.sample(5, tf.constant([3, 5])))


def test_unknown_prior():
    with pytest.raises(ValueError, match="known priors: gaussian, mixture"):
        priors.make("laplace", 2)


def test_cluster_error_follows_the_validation_protocol():
    # Cluster 0's most confident validation example is a "7", cluster 1's a "3".
    validation_probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    validation_labels = np.array([7, 3, 3])
    test_probs = np.array([[0.7, 0.3], [0.1, 0.9], [0.8, 0.2]])
    test_labels = np.array([7, 3, 3])
    assert metrics.cluster_error_by_validation(validation_probs, validation_labels, test_probs,
                                               test_labels) == pytest.approx(1 / 3)


def test_hungarian_error_is_invariant_to_cluster_names():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert metrics.hungarian_error(np.array([2, 2, 0, 0, 1, 1]), labels, 3) == 0.0
    assert metrics.hungarian_error(np.array([2, 2, 0, 0, 1, 0]), labels, 3) == pytest.approx(1 / 6)


def test_classification_error():
    assert metrics.classification_error(np.eye(3)[[0, 1, 1]], np.array([0, 1, 2])) == pytest.approx(1 / 3)
