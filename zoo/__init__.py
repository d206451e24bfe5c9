"""zoo: generative autoencoders in TensorFlow 2 / Keras 3."""
