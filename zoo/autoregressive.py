"""PixelCNN (van den Oord, Kalchbrenner, Kavukcuoglu 2016, Section 3.5 and Fig. 5), optionally
conditioned on a code, and its two exact ancestral samplers.

Network: a 7x7 (or smaller) type-A masked convolution, residual blocks ("ResBlocks": 1x1 -> kxk ->
1x1 masked convolutions around a ReLU residual stream), then two 1x1 masked output convolutions.
Type A lets pixel (i, j) see only the pixels before it in raster order, type B also itself. For
color images the feature maps are split into R, G, B groups and the center tap is masked by group,
so R is predicted before G before B (Section 3.4). `gated=True` replaces the ReLU of the kxk
convolution by the gated unit tanh(W_f * x) . sigmoid(W_g * x) of the Gated PixelCNN (van den Oord
et al. 2016b, Eq. 2); the single-stack masks keep the original PixelCNN's blind spot.

Receptive field: with `receptive_field = r` the output at (i, j) depends only on pixels within
(r - 1) / 2 rows above and columns to either side (the first convolution reaches up to 3, each
3x3 block 1 more; the remaining blocks use 1x1 convolutions). PixelGAN Fig. 2 uses r = 9.

Conditioning on a code z (PixelGAN autoencoders, Section 2, "adaptive bias"):
  - location-invariant: z is mapped to one vector per layer, broadcast over height and width and
    added to that layer's pre-activations, in every masked convolution;
  - location-dependent: z is mapped to one H x W map, broadcast across feature maps and added to the
    first layer only.

Samplers (both exact, identical for the same seed): `sample_naive` re-runs the whole network for
every pixel and channel; `sample_fast` keeps each kxk convolution's input in a cache and, for each
new pixel, computes every layer at that one position only (the caching idea of Ramachandran et al.
2017, "Fast generation for convolutional autoregressive models"), its loops optionally compiled by
XLA (`jit_sampler`). Both draw pixel values by
inverse-CDF from one tensor of Philox uniforms, so they agree wherever their logits do.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo import configs

OUTPUTS = ("bernoulli", "categorical")  # binarized pixels, or 256-way 8-bit intensities
CONDITIONING = ("none", "location_invariant", "location_dependent")
_LEVELS = 256


def causal_mask(kernel_size: int, in_features: int, out_features: int, mask_type: str, groups: int) -> np.ndarray:
    """(k, k, in, out) 0/1 mask: rows below and pixels right of the center are cut; at the center,
    output group g sees input groups < g (type A) or <= g (type B). Groups are the color channels."""
    mask = np.ones((kernel_size, kernel_size, in_features, out_features), np.float32)
    center = kernel_size // 2
    mask[center, center + 1:] = 0
    mask[center + 1:] = 0
    in_group = np.arange(in_features) * groups // in_features
    out_group = np.arange(out_features) * groups // out_features
    allowed = in_group[:, None] < out_group[None, :] if mask_type == "A" else in_group[:, None] <= out_group[None, :]
    mask[center, center] = allowed.astype(np.float32)
    return mask


class MaskedConv2D(keras.layers.Layer):
    """A causally masked convolution, evaluated on whole images or at one position (the cached
    sampler): `at(cache, i, j)` reads a (k, k) window of a cache laid out [H + 2r, W + 2r, B, C]."""

    def __init__(self, filters: int, kernel_size: int, mask_type: str, groups: int, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.mask_type, self.groups = filters, kernel_size, mask_type, groups
        self.radius = kernel_size // 2

    def build(self, input_shape):
        in_features = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel",
                                      shape=(self.kernel_size, self.kernel_size, in_features, self.filters),
                                      initializer="he_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.mask = causal_mask(self.kernel_size, in_features, self.filters, self.mask_type, self.groups)

    def masked_kernel(self):
        return self.kernel * self.mask

    def call(self, x):
        return tf.nn.conv2d(x, self.masked_kernel(), strides=1, padding="SAME") + self.bias

    def rows_cache(self, width, batch, features):
        """A cache of this layer's input over the r + 1 rows the causal kernel reads (rows below
        the center are masked): [r + 1, W + 2r, B, C], oldest row first, the current row last.
        Zeros stand for the SAME padding around the image."""
        return tf.zeros([self.radius + 1, width + 2 * self.radius, batch, features])

    def next_row(self, rows):
        """The cache at the start of a new image row: the oldest row dropped, a zero row appended.
        Entries right of the center are masked, so the zeros never change an output."""
        return tf.concat([rows[1:], tf.zeros_like(rows[:1])], axis=0)

    def write(self, rows, j, value):
        """rows with the input at column j of the current row set to value [B, C]."""
        return tf.tensor_scatter_nd_update(rows, [[self.radius, j + self.radius]], value[None])

    def step_kernel(self):
        """The masked kernel as the one-position path uses it, computed once per sampling run: the
        r + 1 rows at and above the center flattened to [(r + 1) * k * C, filters] (k x k layers),
        or the [C, filters] matrix (1 x 1 layers)."""
        kernel = self.masked_kernel()[:self.radius + 1]
        return tf.reshape(kernel, [-1, self.filters])

    def at(self, rows, j, kernel, bias):
        """The output at column j of the current row from the cache of this layer's input, with
        `kernel` = `step_kernel()` and `bias` this layer's bias (plus any adaptive bias)."""
        window = tf.slice(rows, [0, j, 0, 0], [-1, self.kernel_size, -1, -1])  # [r + 1, k, B, C]
        batch = tf.shape(rows)[2]
        return tf.matmul(tf.reshape(tf.transpose(window, [2, 0, 1, 3]), [batch, -1]), kernel) + bias



def first_kernel_and_block_kernels(receptive_field: int, blocks: int) -> tuple[int, list[int]]:
    """Kernel sizes that give the requested receptive field (0: the first layer 7x7, all blocks 3x3)."""
    if not receptive_field:
        return 7, [3] * blocks
    if receptive_field < 3 or receptive_field % 2 == 0:
        raise ValueError(f"receptive_field must be an odd number >= 3 (or 0 for unlimited), got {receptive_field}")
    reach = (receptive_field - 1) // 2
    first = min(3, reach)
    wide = reach - first
    if wide > blocks:
        raise ValueError(f"receptive_field={receptive_field} needs at least {wide} residual blocks, got {blocks}")
    return 2 * first + 1, [3] * wide + [1] * (blocks - wide)


class PixelCNN(keras.layers.Layer):
    """images [B, H, W, C] in [0, 1] (and a code [B, code_size] when conditioned) -> logits:
    [B, H, W, C] (bernoulli) or [B, H, W, C, 256] (categorical)."""

    def __init__(self, image_shape, features: int = 64, blocks: int = 12, receptive_field: int = 0,
                 gated: bool = False, output: str = "categorical", output_features: int = 0,
                 conditioning: str = "none", jit_sampler: bool = False, **kwargs):
        super().__init__(**kwargs)
        # The cached sampler's loops compiled with XLA: about 6x faster on CPU, where the graph
        # executor's per-op cost dominates the one-pixel steps (benchmarks/pixelcnn_sampling).
        self.jit_sampler = jit_sampler
        configs.check_choice("PixelCNN output", output, OUTPUTS)
        configs.check_choice("conditioning", conditioning, CONDITIONING)
        self.image_shape = tuple(int(d) for d in image_shape)
        height, width, channels = self.image_shape
        if features < channels:
            raise ValueError(f"PixelCNN features ({features}) must be at least the image channels ({channels})")
        self.output_kind, self.conditioning = output, conditioning
        self.levels = 1 if output == "bernoulli" else _LEVELS
        groups = channels
        first, self.block_kernels = first_kernel_and_block_kernels(receptive_field, blocks)
        wide, narrow = 2 * features, features
        self.conv_in = MaskedConv2D(wide, first, "A", groups, name="conv_in")
        self.blocks = []
        for b, kernel in enumerate(self.block_kernels):
            block = {"reduce": MaskedConv2D(narrow, 1, "B", groups, name=f"block{b}_reduce"),
                     "spatial": MaskedConv2D(narrow, kernel, "B", groups, name=f"block{b}_spatial"),
                     "expand": MaskedConv2D(wide, 1, "B", groups, name=f"block{b}_expand")}
            if gated:
                block["gate"] = MaskedConv2D(narrow, kernel, "B", groups, name=f"block{b}_gate")
            self.blocks.append(block)
        hidden = output_features or wide
        self.conv_out = MaskedConv2D(hidden, 1, "B", groups, name="conv_out")
        self.conv_logits = MaskedConv2D(channels * self.levels, 1, "B", groups, name="conv_logits")
        # Adaptive biases from the code (PixelGAN Section 2).
        if conditioning == "location_invariant":
            sizes = {"conv_in": wide, "conv_out": hidden}
            for b in range(blocks):
                sizes.update({f"block{b}_reduce": narrow, f"block{b}_spatial": narrow})
            self.biases = {name: keras.layers.Dense(size, name=f"bias_{name}") for name, size in sizes.items()}
        elif conditioning == "location_dependent":
            self.spatial_bias = keras.layers.Dense(height * width, name="bias_map")

    # --- whole images ------------------------------------------------------------------------------
    def call(self, images, code=None):
        vectors, spatial_map = self._conditioning(code)
        def bias(name):
            return vectors[name][:, None, None, :] if name in vectors else 0.0

        h = self.conv_in(self._inputs(images)) + bias("conv_in")
        if spatial_map is not None:
            h = h + spatial_map
        for b, block in enumerate(self.blocks):
            t = tf.nn.relu(block["reduce"](tf.nn.relu(h)) + bias(f"block{b}_reduce"))
            gate = block["gate"](t) if "gate" in block else None
            h = h + block["expand"](self._spatial(block["spatial"](t) + bias(f"block{b}_spatial"), gate))
        out = tf.nn.relu(self.conv_out(tf.nn.relu(h)) + bias("conv_out"))
        return self._shape_logits(self.conv_logits(out))

    def _inputs(self, images):
        if self.output_kind == "bernoulli":
            images = binarize(images)
        return images - 0.5

    @staticmethod
    def _spatial(filtered, gate):
        """ReLU, or the gated unit tanh(filtered) * sigmoid(gate)."""
        return tf.nn.relu(filtered) if gate is None else tf.tanh(filtered) * tf.sigmoid(gate)

    def _shape_logits(self, logits):
        if self.levels == 1:
            return logits
        channels = self.image_shape[-1]
        return tf.reshape(logits, tf.concat([tf.shape(logits)[:-1], [channels, self.levels]], axis=0))

    def _conditioning(self, code):
        """The adaptive biases: (layer name -> [B, F] vector, [B, H, W, 1] map or None)."""
        if self.conditioning == "none":
            return {}, None
        if code is None:
            raise ValueError("this PixelCNN is conditioned on a code: pass one")
        if self.conditioning == "location_invariant":
            return {name: dense(code) for name, dense in self.biases.items()}, None
        height, width, _ = self.image_shape
        return {}, tf.reshape(self.spatial_bias(code), [-1, height, width, 1])

    # --- log-likelihood --------------------------------------------------------------------------
    def targets(self, images):
        if self.output_kind == "bernoulli":
            return binarize(images)
        return tf.cast(tf.round(images * (_LEVELS - 1)), tf.int32)

    def log_likelihood(self, images, logits):
        """log p(x) per image, in nats: the sum over pixels and channels."""
        targets = self.targets(images)
        if self.output_kind == "bernoulli":
            per_value = -tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
        else:
            per_value = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        return tf.reduce_sum(per_value, axis=[1, 2, 3])

    # --- sampling ---------------------------------------------------------------------------------
    def draw(self, logits, uniform):
        """Inverse-CDF draw of one value per row: logits [B] (bernoulli) or [B, 256], uniform [B]."""
        if self.output_kind == "bernoulli":
            return tf.cast(uniform < tf.sigmoid(logits), tf.float32)
        cdf = tf.cumsum(tf.nn.softmax(logits), axis=-1)
        level = tf.minimum(tf.reduce_sum(tf.cast(cdf < uniform[:, None], tf.int32), axis=-1), _LEVELS - 1)
        return tf.cast(level, tf.float32) / (_LEVELS - 1)

    def uniforms(self, n, seed):
        return tf.random.stateless_uniform(tf.concat([[n], self.image_shape], axis=0), seed, alg="philox")

    def sample_naive(self, n, seed, code=None):
        """Ancestral sampling that re-runs the whole network for every pixel and channel."""
        height, width, channels = self.image_shape
        uniform = self.uniforms(n, seed)
        images = tf.zeros(tf.concat([[n], self.image_shape], axis=0))

        def step(t, images):
            i, j, c = t // (width * channels), (t // channels) % width, t % channels
            logits = self(images, code)[:, i, j, c]
            value = self.draw(logits, uniform[:, i, j, c])
            return t + 1, _set_pixel_channel(images, i, j, c, value)

        _, images = tf.while_loop(lambda t, _: t < height * width * channels, step, [tf.constant(0), images])
        return images

    def sample_fast(self, n, seed, code=None):
        """Ancestral sampling that computes each layer at the new pixel only, from cached inputs of
        the kxk convolutions (every other layer is pointwise). The uniforms come from the same
        stateless draw as the naive sampler's, outside XLA (whose Philox stream differs), so both
        samplers draw the same images for a seed, compiled or not."""
        uniform = self.uniforms(n, seed)
        if not self.jit_sampler:
            return self._sample_given_uniforms(uniform, code)
        if "_compiled_sampler" not in self.__dict__:
            self._compiled_sampler = tf.function(self._sample_given_uniforms, jit_compile=True)
        return self._compiled_sampler(uniform, code)

    def _sample_given_uniforms(self, uniform, code):
        """The cached sampler's loops. Everything that does not change from pixel to pixel is
        computed before them: masked and flattened kernels, biases with the adaptive biases folded
        in; the caches move on once per image row."""
        n = tf.shape(uniform)[0]
        height, width, channels = self.image_shape
        uniform = tf.transpose(uniform, [1, 2, 3, 0])  # [H, W, C, B]
        vectors, spatial_map = self._conditioning(code)
        layers = {"conv_in": self.conv_in, "conv_out": self.conv_out, "conv_logits": self.conv_logits}
        for b, block in enumerate(self.blocks):
            layers.update({f"block{b}_{part}": layer for part, layer in block.items()})
        kernel = {name: layer.step_kernel() for name, layer in layers.items()}
        bias = {name: layer.bias + vectors[name] if name in vectors else layer.bias for name, layer in layers.items()}
        if spatial_map is not None:  # the location-dependent map joins conv_in's bias, per pixel
            spatial_map = tf.transpose(spatial_map[..., 0], [1, 2, 0])[..., None]  # [H, W, B, 1]

        def network_at(i, j, inputs, caches):
            """Logits at (i, j) and the caches with this pixel's block inputs written."""
            conv_in_bias = bias["conv_in"] + spatial_map[i, j] if spatial_map is not None else bias["conv_in"]
            h = self.conv_in.at(inputs, j, kernel["conv_in"], conv_in_bias)
            new_caches = []
            for b, (block, cache) in enumerate(zip(self.blocks, caches)):
                name = f"block{b}_"
                t = tf.nn.relu(tf.matmul(tf.nn.relu(h), kernel[name + "reduce"]) + bias[name + "reduce"])
                cache = block["spatial"].write(cache, j, t)
                new_caches.append(cache)
                gate = (block["gate"].at(cache, j, kernel[name + "gate"], bias[name + "gate"])
                        if "gate" in block else None)
                filtered = block["spatial"].at(cache, j, kernel[name + "spatial"], bias[name + "spatial"])
                h = h + tf.matmul(self._spatial(filtered, gate), kernel[name + "expand"]) + bias[name + "expand"]
            out = tf.nn.relu(tf.matmul(tf.nn.relu(h), kernel["conv_out"]) + bias["conv_out"])
            logits = tf.matmul(out, kernel["conv_logits"]) + bias["conv_logits"]
            return tf.reshape(logits, [-1, channels, self.levels]) if self.levels > 1 else logits, new_caches

        def pixel_step(i, j, row, inputs, caches):
            pixel = tf.zeros([n, channels])
            for c in range(channels):  # R, then G given R, then B given both (the final pass fills the caches)
                logits, caches = network_at(i, j, inputs, caches)
                pixel = tf.tensor_scatter_nd_update(pixel, _channel_indices(n, c),
                                                    self.draw(logits[:, c], uniform[i, j, c]))
                inputs = self.conv_in.write(inputs, j, pixel - 0.5)
            return j + 1, row.write(j, pixel), inputs, caches

        def row_step(i, rows, inputs, caches):
            inputs = self.conv_in.next_row(inputs)
            caches = [block["spatial"].next_row(cache) for block, cache in zip(self.blocks, caches)]
            row = tf.TensorArray(tf.float32, size=width)
            _, row, inputs, caches = tf.while_loop(
                lambda j, *_: j < width, lambda j, *state: pixel_step(i, j, *state),
                [tf.constant(0), row, inputs, caches])
            return i + 1, rows.write(i, row.stack()), inputs, caches

        inputs = self.conv_in.rows_cache(width, n, channels)  # the network's inputs, x - 0.5
        caches = [block["spatial"].rows_cache(width, n, block["spatial"].filters) for block in self.blocks]
        rows = tf.TensorArray(tf.float32, size=height)
        _, rows, _, _ = tf.while_loop(lambda i, *_: i < height, row_step, [tf.constant(0), rows, inputs, caches])
        images = tf.transpose(rows.stack(), [2, 0, 1, 3])  # [H, W, B, C] -> [B, H, W, C]
        return images if self.levels == 1 else tf.round(images * (_LEVELS - 1)) / (_LEVELS - 1)


def _channel_indices(n, c):
    return tf.stack([tf.range(n), tf.fill([n], c)], axis=1)


def _set_pixel_channel(images, i, j, c, value):
    """images[:, i, j, c] = value."""
    n = tf.shape(images)[0]
    indices = tf.stack([tf.range(n), tf.fill([n], i), tf.fill([n], j), tf.fill([n], c)], axis=1)
    return tf.tensor_scatter_nd_update(images, indices, value)


def portable_samplers(model) -> None:
    """Turns off XLA in every PixelCNN sampler of `model`: an exported SavedModel then runs in TF
    Serving without its (off by default) XLA CPU compilation."""
    for layer in model._flatten_layers():
        if isinstance(layer, PixelCNN):
            layer.jit_sampler = False


def binarize(images):
    return tf.cast(images > 0.5, images.dtype)
