"""Training on the in-memory toys of `zoo.data.toys` (IAE Fig. 5, FIAE Figs. 11-12)."""
from __future__ import annotations


def train_on_points(config, points, name: str, num_classes: int):
    """The model of `config` trained on in-memory toy points [n, 1, 1, d] (no tfds dataset: the
    spec is made here) for `config.steps` steps; returns the model."""
    import keras
    import tensorflow as tf

    from zoo import registry
    from zoo.data import toys

    keras.utils.set_random_seed(config.seed)
    model = registry.build_model(config, toys.spec(name, num_classes, len(points)))
    model.build_for_training()
    dataset = tf.data.Dataset.from_tensor_slices({"image": points}).repeat().shuffle(10000, seed=config.seed) \
        .batch(config.batch_size, drop_remainder=True)
    model.fit(dataset, steps_per_epoch=config.steps, epochs=1, verbose=2)
    return model
