"""Shared building blocks. Architectures take shapes and widths, never a dataset name.

`image_encoder` and `image_decoder` are the MLP / convolutional autoencoder halves every family
reuses; `mlp` is the fully connected network used for code discriminators (AAE Section 2: two
hidden layers of 1000 ReLU units on MNIST).
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from zoo import configs

MLP_OUTPUTS = ("linear", "tanh", "standardized")


def network(inputs, outputs, name: str) -> keras.Model:
    """A functional sub-model whose outputs are float32 whatever the layers compute in: under a
    mixed-precision policy (`precision`, zoo.training.build) the layers run in bfloat16 / float16
    with float32 variables, and every loss, softmax, GAN logit and batch statistic that the model
    code computes from these outputs stays float32. Under float32 the casts are no-ops."""
    def cast(key, tensor):
        return layers.Activation("linear", dtype="float32", name=f"{name}_{key}_float32")(tensor)

    if isinstance(outputs, dict):
        outputs = {key: cast(key, tensor) for key, tensor in outputs.items()}
    else:
        outputs = cast("output", outputs)
    return keras.Model(inputs, outputs, name=name)


def mlp(input_dim: int, widths: tuple[int, ...], output_dim: int, name: str, output: str = "linear") -> keras.Model:
    """ReLU MLP with a linear output (logits); `output="tanh"` bounds it, `"standardized"` gives
    each output unit zero mean and unit variance over the batch (batch normalization without a
    learned scale or offset; the moving statistics at inference)."""
    configs.check_choice("mlp output", output, MLP_OUTPUTS)
    inputs = keras.Input((input_dim,), name=f"{name}_input")
    h = inputs
    for i, width in enumerate(widths):
        h = layers.Dense(width, activation="relu", name=f"{name}_dense{i}")(h)
    # Standardization removes any bias, whose gradient would then be rounding noise that Adam scales up.
    outputs = layers.Dense(output_dim, activation="tanh" if output == "tanh" else None,
                           use_bias=output != "standardized", name=f"{name}_logits")(h)
    if output == "standardized":
        outputs = layers.BatchNormalization(center=False, scale=False, synchronized=True, name=f"{name}_norm")(outputs)
    return network(inputs, outputs, name)


def _check_downsampling(image_shape, depth: int) -> None:
    factor = 2 ** depth
    h, w = image_shape[:2]
    if h % factor or w % factor:
        raise ValueError(
            f"a convolutional network with {depth} stride-2 layers needs image sides divisible by {factor}, "
            f"got {h}x{w}; use fewer conv widths or --set image_size=...")


ARCHITECTURES = ("mlp", "conv")


def hidden(h, layer_cls, *args, batch_norm: bool, activation, name: str, **kwargs):
    """One hidden layer: `layer_cls(*args, **kwargs)` (Dense / Conv2D / Conv2DTranspose; without a
    bias when batch norm follows, whose offset replaces it), then batch normalization if asked, then
    the activation. Batch norm is synchronized: under MirroredStrategy its statistics are the global
    batch's, as on one device."""
    h = layer_cls(*args, use_bias=not batch_norm, name=name, **kwargs)(h)
    if batch_norm:
        h = layers.BatchNormalization(synchronized=True, name=f"{name}_bn")(h)
    return activation(h)


def _relu(h):
    return layers.ReLU()(h)


def _leaky_relu(h):
    return layers.LeakyReLU(0.2)(h)


def image_encoder(image_shape, architecture: str, widths: tuple[int, ...], heads: dict[str, int],
                  noise_size: int = 0, name: str = "encoder",
                  standardized_heads: dict[str, float] | None = None, batch_norm: bool = False,
                  code_batch_norm: bool = False) -> keras.Model:
    """x (and optional noise n) -> a dict of linear heads, e.g. {"z": 8, "y_logits": 10}.

    Noise enters by concatenation with the image features: z = f(x, n), the universal approximator
    posterior of AAE Section 2.1 (and the PixelGAN / IAE encoders). `standardized_heads`
    {head: scale} standardizes those heads per unit over the batch (batch normalization without an
    offset) times a learned scale starting at `scale`. On softmax logits every category then has
    mean logit 0 over a batch, so no category can win for every example (a collapsed categorical
    code), and the logits cannot grow until the softmax saturates and passes no gradient.
    `batch_norm` normalizes every hidden layer (`hidden`), as the Implicit Autoencoders' Appendix B
    tables and the DCGAN-style networks of the PixelGAN / AAE papers' time do; `code_batch_norm`
    normalizes the other heads too, with a learned scale and offset (Appendix B Table 1's code layer,
    "FC 20 Linear. BN")."""
    image = keras.Input(image_shape, name="image")
    inputs = [image]
    if architecture == "mlp":
        h = layers.Flatten()(image)
    elif architecture == "conv":
        _check_downsampling(image_shape, len(widths))
        h = image
        for i, width in enumerate(widths):
            h = hidden(h, layers.Conv2D, width, 4, strides=2, padding="same", batch_norm=batch_norm,
                       activation=_leaky_relu, name=f"{name}_conv{i}")
        h = layers.Flatten()(h)
    else:
        configs.check_choice("architecture", architecture, ARCHITECTURES)
    if noise_size:
        noise = keras.Input((noise_size,), name="noise")
        inputs.append(noise)
        h = layers.Concatenate()([h, noise])
    dense_widths = widths if architecture == "mlp" else (max(widths) * 2,)
    for i, width in enumerate(dense_widths):
        layer_name = f"{name}_dense{i}" if architecture == "mlp" else f"{name}_dense"
        h = hidden(h, layers.Dense, width, batch_norm=batch_norm, activation=_relu, name=layer_name)
    outputs = {head: layers.Dense(size, name=f"{name}_{head}")(h) for head, size in heads.items()}
    standardized_heads = standardized_heads or {}
    for head, scale in standardized_heads.items():
        outputs[head] = layers.BatchNormalization(
            center=False, gamma_initializer=keras.initializers.Constant(scale), synchronized=True,
            name=f"{name}_{head}_norm")(outputs[head])
    for head in heads if code_batch_norm else ():
        if head not in standardized_heads:
            outputs[head] = layers.BatchNormalization(synchronized=True, name=f"{name}_{head}_bn")(outputs[head])
    return network(inputs, outputs, name)


def image_decoder(code_size: int, image_shape, architecture: str, widths: tuple[int, ...],
                  name: str = "decoder", batch_norm: bool = False) -> keras.Model:
    """code -> per-pixel logits of the image (Bernoulli / sigmoid outputs in [0, 1]); `batch_norm`
    normalizes every hidden layer (`hidden`)."""
    code = keras.Input((code_size,), name="code")
    height, width, channels = image_shape
    if architecture == "mlp":
        h = code
        for i, units in enumerate(reversed(widths)):
            h = hidden(h, layers.Dense, units, batch_norm=batch_norm, activation=_relu, name=f"{name}_dense{i}")
        h = layers.Dense(math.prod(image_shape), name=f"{name}_logits")(h)
        logits = layers.Reshape(image_shape)(h)
    elif architecture == "conv":
        _check_downsampling(image_shape, len(widths))
        factor = 2 ** len(widths)
        h = hidden(code, layers.Dense, max(widths) * 2, batch_norm=batch_norm, activation=_relu, name=f"{name}_dense")
        h = hidden(h, layers.Dense, (height // factor) * (width // factor) * widths[-1], batch_norm=batch_norm,
                   activation=_relu, name=f"{name}_project")
        h = layers.Reshape((height // factor, width // factor, widths[-1]))(h)
        for i, units in enumerate(reversed(widths)):
            h = hidden(h, layers.Conv2DTranspose, units, 4, strides=2, padding="same", batch_norm=batch_norm,
                       activation=_leaky_relu, name=f"{name}_deconv{i}")
        logits = layers.Conv2D(channels, 3, padding="same", name=f"{name}_logits")(h)
    else:
        configs.check_choice("architecture", architecture, ARCHITECTURES)
    return network(code, logits, name)


DECODER_OUTPUTS = ("sigmoid", "linear")


def decoder_output(logits, output: str):
    """A decoder's last layer as data: "sigmoid" for images in [0, 1], "linear" for vectors."""
    return keras.ops.sigmoid(logits) if output == "sigmoid" else logits


JOINT_CONDITIONING = ("location_dependent", "location_invariant")


def joint_discriminator(image_shape, code_size: int, architecture: str, widths: tuple[int, ...],
                        conditioning: str = "location_dependent", bias_hidden: int = 1000, dense: int = 0,
                        batch_norm: bool = False, name: str = "joint_discriminator") -> keras.Model:
    """D(x, z) -> logit: the reconstruction GAN's discriminator on (image, code) pairs (IAE Section 2,
    Appendix B). The code enters the first convolution as an adaptive bias:
      - "location_dependent": a one-layer network of `bias_hidden` ReLU units maps z to an H x W x 1 map
        (the first layer's output size), broadcast across its channels;
      - "location_invariant": a linear map of z to a vector of the first layer's channels,
        broadcast over height and width.
    `dense` > 0 adds a fully connected ReLU layer of that many units before the logit, and
    `batch_norm` normalizes every hidden layer: Appendix B Table 1's D(x, z) is conv-BN, conv-BN,
    FC 1024 ReLU BN, FC 1. With the MLP architecture (vector data, e.g. the mixture-of-Gaussians
    toy) x and z are concatenated."""
    image = keras.Input(image_shape, name="image")
    code = keras.Input((code_size,), name="code")
    configs.check_choice("joint conditioning", conditioning, JOINT_CONDITIONING)
    if architecture == "mlp":
        h = layers.Concatenate()([layers.Flatten()(image), code])
        for i, width in enumerate(widths):
            h = hidden(h, layers.Dense, width, batch_norm=batch_norm, activation=_leaky_relu, name=f"{name}_dense{i}")
    elif architecture == "conv":
        _check_downsampling(image_shape, len(widths))
        h = layers.Conv2D(widths[0], 4, strides=2, padding="same", use_bias=not batch_norm, name=f"{name}_conv0")(image)
        height, width = image_shape[0] // 2, image_shape[1] // 2
        if conditioning == "location_dependent":
            bias = layers.Dense(bias_hidden, activation="relu", name=f"{name}_bias_hidden")(code)
            bias = layers.Reshape((height, width, 1))(layers.Dense(height * width, name=f"{name}_bias_map")(bias))
        else:
            bias = layers.Reshape((1, 1, widths[0]))(layers.Dense(widths[0], name=f"{name}_bias_vector")(code))
        h = keras.ops.add(h, bias)
        if batch_norm:
            h = layers.BatchNormalization(synchronized=True, name=f"{name}_conv0_bn")(h)
        h = _leaky_relu(h)
        for i, units in enumerate(widths[1:], start=1):
            h = hidden(h, layers.Conv2D, units, 4, strides=2, padding="same", batch_norm=batch_norm,
                       activation=_leaky_relu, name=f"{name}_conv{i}")
        h = layers.Flatten()(h)
    else:
        configs.check_choice("architecture", architecture, ARCHITECTURES)
    if dense:
        h = hidden(h, layers.Dense, dense, batch_norm=batch_norm, activation=_relu, name=f"{name}_dense")
    logit = layers.Dense(1, name=f"{name}_logit")(h)
    return network([image, code], logit, name)


# --- image-to-image blocks (CycleGAN, Zhu et al. 2017, Appendix 7.2; CycleIAE, IAE Appendix B.2) ---
def _noise_batch_norm(h, noise, name: str):
    """Batch norm whose scale and shift are linear functions of the noise (conditional batch norm,
    IAE Appendix B.2): gamma = 1 + W_g n + b_g, beta = W_b n + b_b, so different noise draws can give
    different outputs in every layer. W and b start at zero, so the layer starts as plain batch norm
    (gamma = 1, beta = 0), as conditional batch norm does (de Vries et al. 2017, Dumoulin et al.
    2017): the input carries the content from the first step and the noise earns its say. (Glorot-
    initialized W with a 100-D noise moved a generator's output five times more than its input did:
    docs/cycleiae.md.) Without noise, ordinary batch norm with learned gamma and beta."""
    # Synchronized: under MirroredStrategy the statistics are the global batch's, as on one device.
    if noise is None:
        return layers.BatchNormalization(synchronized=True, name=f"{name}_bn")(h)
    channels = h.shape[-1]
    h = layers.BatchNormalization(center=False, scale=False, synchronized=True, name=f"{name}_bn")(h)
    gamma, beta = (layers.Reshape((1, 1, channels))(
        layers.Dense(channels, kernel_initializer="zeros", name=f"{name}_{part}")(noise)) for part in ("gamma", "beta"))
    return h * (1.0 + gamma) + beta


def residual_blocks_for(image_shape) -> int:
    """CycleGAN's rule: 9 residual blocks from 256x256 up, 6 below."""
    return 9 if min(image_shape[:2]) >= 256 else 6


def resnet_generator(input_shape, output_channels: int, widths: tuple[int, ...], blocks: int,
                     noise_size: int = 0, name: str = "generator") -> keras.Model:
    """CycleGAN's ResNet image-to-image generator: a 7x7 convolution of widths[0] filters, one
    stride-2 3x3 convolution per further width, `blocks` residual blocks, the mirror image of the
    downsampling, a 7x7 convolution to output logits. With `noise_size`, the noise enters every
    normalization (`_noise_batch_norm`); inputs are then [image, noise]."""
    _check_downsampling(input_shape, len(widths) - 1)
    image = keras.Input(input_shape, name="image")
    noise = keras.Input((noise_size,), name="noise") if noise_size else None

    def conv_norm_relu(h, filters, kernel, stride, layer_name, transpose=False, relu=True):
        conv = layers.Conv2DTranspose if transpose else layers.Conv2D
        h = conv(filters, kernel, strides=stride, padding="same", use_bias=False, name=layer_name)(h)
        h = _noise_batch_norm(h, noise, layer_name)
        return layers.ReLU()(h) if relu else h

    h = conv_norm_relu(image, widths[0], 7, 1, f"{name}_in")
    for i, width in enumerate(widths[1:]):
        h = conv_norm_relu(h, width, 3, 2, f"{name}_down{i}")
    for i in range(blocks):
        r = conv_norm_relu(h, widths[-1], 3, 1, f"{name}_block{i}a")
        h = h + conv_norm_relu(r, widths[-1], 3, 1, f"{name}_block{i}b", relu=False)
    for i, width in enumerate(reversed(widths[:-1])):
        h = conv_norm_relu(h, width, 3, 2, f"{name}_up{i}", transpose=True)
    logits = layers.Conv2D(output_channels, 7, padding="same", name=f"{name}_logits")(h)
    return network([image, noise] if noise_size else image, logits, name)


def _gather_replicas(context, x):
    """The replicas' equal-sized batches concatenated in replica order (one device's batch). Its
    gradient sums every replica's upstream gradient before taking this replica's rows: each
    replica's loss depends on every other replica's examples through the gathered batch, which
    `all_gather`'s own gradient (this replica's rows of its own upstream gradient) leaves out."""
    @tf.custom_gradient
    def gather(x):
        def grad(upstream):
            rows = tf.shape(x)[0]
            start = tf.cast(context.replica_id_in_sync_group, tf.int32) * rows
            return context.all_reduce("sum", upstream)[start:start + rows]

        return context.all_gather(x, axis=0), grad

    return gather(x)


class MinibatchStddev(layers.Layer):
    """Appends one feature map: the standard deviation of each feature across the batch, averaged
    (Karras et al. 2018, Section 3). A discriminator that sees it can tell a batch of one repeated
    image from a batch of varied ones: the per-example PatchGAN cannot, and a generator of images
    (a CycleIAE encoder) then escapes it by emitting one image for every input. Under a
    MirroredStrategy the statistics are the global batch's (gathered), as on one device."""

    def call(self, h):
        context = tf.distribute.get_replica_context()
        h_all = _gather_replicas(context, h) if context is not None and context.num_replicas_in_sync > 1 else h
        mean = tf.reduce_mean(h_all, axis=0)
        variance = tf.reduce_mean(tf.square(h_all - mean), axis=0)
        # sqrt(var + eps): finite gradient at a fully collapsed batch (var = 0).
        spread = tf.reduce_mean(tf.sqrt(variance + 1e-8))
        return tf.concat([h, tf.ones_like(h[..., :1]) * spread], axis=-1)


def patch_discriminator(input_shape, widths: tuple[int, ...], name: str = "discriminator",
                        minibatch_stddev: bool = False) -> keras.Model:
    """PatchGAN (pix2pix / CycleGAN): 4x4 convolutions, stride 2 for all widths but the last
    (stride 1), then a 4x4 convolution to one logit per patch: [B, h, w, 1]. No normalization, so
    that gradient penalties see each example alone. A joint discriminator D(x, z) of two images is
    this network on their channels concatenated (`input_shape` = H x W x (C_x + C_z)).
    `minibatch_stddev` adds the batch's spread (`MinibatchStddev`) before the last convolution."""
    _check_downsampling(input_shape, len(widths) - 1)
    image = keras.Input(input_shape, name="image")
    h = image
    for i, width in enumerate(widths):
        h = layers.Conv2D(width, 4, strides=2 if i < len(widths) - 1 else 1, padding="same", name=f"{name}_conv{i}")(h)
        h = layers.LeakyReLU(0.2)(h)
    if minibatch_stddev:
        h = MinibatchStddev(name=f"{name}_minibatch_stddev")(h)
    logits = layers.Conv2D(1, 4, padding="same", name=f"{name}_logits")(h)
    return network(image, logits, name)


def feature_discriminator(image_shape, widths: tuple[int, ...], name: str = "discriminator") -> keras.Model:
    """x -> {"logit": [B, 1], "features": the last convolution's activations}: an image GAN's
    discriminator whose features also serve as a perceptual space (learned-prior AAE, Eq. 5)."""
    _check_downsampling(image_shape, len(widths))
    image = keras.Input(image_shape, name="image")
    h = image
    for i, width in enumerate(widths):
        h = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same", name=f"{name}_conv{i}")(h))
    logit = layers.Dense(1, name=f"{name}_logit")(layers.Flatten()(h))
    return network(image, {"logit": logit, "features": h}, name)
