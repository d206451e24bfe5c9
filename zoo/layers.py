"""Shared building blocks. Architectures take shapes and widths, never a dataset name.

`image_encoder` and `image_decoder` are the MLP / convolutional autoencoder halves every family
reuses; `mlp` is the fully connected network used for code discriminators (AAE Section 2: two
hidden layers of 1000 ReLU units on MNIST).
"""
from __future__ import annotations

import math

import keras
from keras import layers


def mlp(input_dim: int, widths: tuple[int, ...], output_dim: int, name: str) -> keras.Model:
    """ReLU MLP with a linear output (logits)."""
    inputs = keras.Input((input_dim,), name=f"{name}_input")
    h = inputs
    for i, width in enumerate(widths):
        h = layers.Dense(width, activation="relu", name=f"{name}_dense{i}")(h)
    outputs = layers.Dense(output_dim, name=f"{name}_logits")(h)
    return keras.Model(inputs, outputs, name=name)


def _check_downsampling(image_shape, depth: int) -> None:
    factor = 2 ** depth
    h, w = image_shape[:2]
    if h % factor or w % factor:
        raise ValueError(
            f"a convolutional network with {depth} stride-2 layers needs image sides divisible by {factor}, "
            f"got {h}x{w}; use fewer conv widths or --set image_size=...")


def image_encoder(image_shape, architecture: str, widths: tuple[int, ...], heads: dict[str, int],
                  noise_size: int = 0, name: str = "encoder") -> keras.Model:
    """x (and optional noise n) -> a dict of linear heads, e.g. {"z": 8, "y_logits": 10}.

    Noise enters by concatenation with the image features: z = f(x, n), the universal approximator
    posterior of AAE Section 2.1 (and the PixelGAN / IAE encoders).
    """
    image = keras.Input(image_shape, name="image")
    inputs = [image]
    if architecture == "mlp":
        h = layers.Flatten()(image)
    elif architecture == "conv":
        _check_downsampling(image_shape, len(widths))
        h = image
        for i, width in enumerate(widths):
            h = layers.Conv2D(width, 4, strides=2, padding="same", name=f"{name}_conv{i}")(h)
            h = layers.LeakyReLU(0.2)(h)
        h = layers.Flatten()(h)
    else:
        raise ValueError(f"unknown architecture '{architecture}'; known: mlp, conv")
    if noise_size:
        noise = keras.Input((noise_size,), name="noise")
        inputs.append(noise)
        h = layers.Concatenate()([h, noise])
    if architecture == "mlp":
        for i, width in enumerate(widths):
            h = layers.Dense(width, activation="relu", name=f"{name}_dense{i}")(h)
    else:
        h = layers.Dense(max(widths) * 2, activation="relu", name=f"{name}_dense")(h)
    outputs = {head: layers.Dense(size, name=f"{name}_{head}")(h) for head, size in heads.items()}
    return keras.Model(inputs, outputs, name=name)


def image_decoder(code_size: int, image_shape, architecture: str, widths: tuple[int, ...],
                  name: str = "decoder") -> keras.Model:
    """code -> per-pixel logits of the image (Bernoulli / sigmoid outputs in [0, 1])."""
    code = keras.Input((code_size,), name="code")
    height, width, channels = image_shape
    if architecture == "mlp":
        h = code
        for i, units in enumerate(reversed(widths)):
            h = layers.Dense(units, activation="relu", name=f"{name}_dense{i}")(h)
        h = layers.Dense(math.prod(image_shape), name=f"{name}_logits")(h)
        logits = layers.Reshape(image_shape)(h)
    elif architecture == "conv":
        _check_downsampling(image_shape, len(widths))
        factor = 2 ** len(widths)
        h = layers.Dense(max(widths) * 2, activation="relu", name=f"{name}_dense")(code)
        h = layers.Dense((height // factor) * (width // factor) * widths[-1], activation="relu",
                         name=f"{name}_project")(h)
        h = layers.Reshape((height // factor, width // factor, widths[-1]))(h)
        for i, units in enumerate(reversed(widths)):
            h = layers.Conv2DTranspose(units, 4, strides=2, padding="same", name=f"{name}_deconv{i}")(h)
            h = layers.LeakyReLU(0.2)(h)
        logits = layers.Conv2D(channels, 3, padding="same", name=f"{name}_logits")(h)
    else:
        raise ValueError(f"unknown architecture '{architecture}'; known: mlp, conv")
    return keras.Model(code, logits, name=name)
