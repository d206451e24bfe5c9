"""PixelCNN (van den Oord, Kalchbrenner, Kavukcuoglu 2016, Section 3.5 and Fig. 5), optionally
conditioned on a code, and its two exact ancestral samplers.

Network: a 7x7 (or smaller) type-A masked convolution, residual blocks ("ResBlocks": 1x1 -> kxk ->
1x1 masked convolutions around a ReLU residual stream), then two 1x1 masked output convolutions.
Type A lets pixel (i, j) see only the pixels before it in raster order, type B also itself. For
color images the feature maps are split into R, G, B groups and the center tap is masked by group,
so R is predicted before G before B (Section 3.4). `gated=True` replaces the ReLU of the kxk
convolution by the gated unit tanh(W_f * x) . sigmoid(W_g * x) of the Gated PixelCNN (van den Oord
et al. 2016b, Eq. 2); the single-stack masks keep the original PixelCNN's blind spot.
`GatedPixelCNN` (`make(..., stacks=2)`) is that paper's network without the blind spot: gated
vertical and horizontal stacks (see its docstring).

Receptive field: with `receptive_field = r` the output at (i, j) depends only on pixels within
(r - 1) / 2 rows above and columns to either side (the first convolution reaches up to 3, each
3x3 block 1 more; the remaining blocks use 1x1 convolutions). PixelGAN Fig. 2 uses r = 9.

Conditioning on a code z (PixelGAN autoencoders, Section 2, "adaptive bias"):
  - location-invariant: z is mapped to one vector per layer, broadcast over height and width and
    added to that layer's pre-activations, in every masked convolution (the input, reduce,
    spatial, gate, expand, output and logit layers);
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


MASKS = ("A", "B", "vertical_A", "vertical_B")


def causal_mask(kernel_size, in_features: int, out_features: int, mask_type: str, groups: int) -> np.ndarray:
    """(kh, kw, in, out) 0/1 mask; `kernel_size` is k (square) or (kh, kw).
      - "A" / "B" (raster order): rows below and pixels right of the center are cut; at the center,
        output group g sees input groups < g (type A) or <= g (type B). Groups are the color
        channels. A 1 x k kernel is the Gated PixelCNN's horizontal stack.
      - "vertical_A" / "vertical_B" (the Gated PixelCNN's vertical stack, van den Oord et al. 2016b,
        Fig. 1): every column of the rows strictly above the center (A) or of the rows above and the
        center row (B). A vertical stack whose first layer is type A sees only the rows above the
        output's: it feeds the horizontal stack at the same position without the paper's shift
        by one row (which this mask is), and together they have no blind spot."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    mask = np.ones((kh, kw, in_features, out_features), np.float32)
    center_row, center_column = kh // 2, kw // 2
    if mask_type.startswith("vertical"):
        mask[center_row + (1 if mask_type == "vertical_B" else 0):] = 0
        return mask
    mask[center_row, center_column + 1:] = 0
    mask[center_row + 1:] = 0
    in_group = np.arange(in_features) * groups // in_features
    out_group = np.arange(out_features) * groups // out_features
    allowed = in_group[:, None] < out_group[None, :] if mask_type == "A" else in_group[:, None] <= out_group[None, :]
    mask[center_row, center_column] = allowed.astype(np.float32)
    return mask


class MaskedConv2D(keras.layers.Layer):
    """A causally masked convolution (`causal_mask`), evaluated on whole images or at one position
    (the cached sampler): `at(cache, j, ...)` reads a (kh, kw) window of a cache of this layer's
    input laid out [kh // 2 + 1, W + 2 (kw // 2), B, C], `row_at(cache, ...)` a whole row."""

    def __init__(self, filters: int, kernel_size, mask_type: str, groups: int, **kwargs):
        super().__init__(**kwargs)
        configs.check_choice("mask type", mask_type, MASKS)
        self.kernel_shape = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.filters, self.mask_type, self.groups = filters, mask_type, groups
        self.row_radius, self.column_radius = self.kernel_shape[0] // 2, self.kernel_shape[1] // 2

    def build(self, input_shape):
        in_features = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_shape, in_features, self.filters),
                                      initializer="he_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.mask = causal_mask(self.kernel_shape, in_features, self.filters, self.mask_type, self.groups)

    def masked_kernel(self):
        """The kernel times its mask (in float32, so the mask is exact) in the compute dtype."""
        return tf.cast(self.kernel * self.mask, self.compute_dtype)

    def compute_bias(self):
        return tf.cast(self.bias, self.compute_dtype)

    def call(self, x, adaptive_bias=None, halves=False):
        """The convolution plus its bias, and plus `adaptive_bias` ([B, 1, 1, F], the code's) if
        given: the two biases meet before the one full-size addition (and its one reduction in the
        backward pass). `halves=True`: the first and second halves of the output features as two
        tensors, each from its half of the kernel (a gated unit's two inputs without a split)."""
        bias = self.compute_bias() if adaptive_bias is None else self.compute_bias() + adaptive_bias
        kernel = self.masked_kernel()
        if not halves:
            return tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias
        half = self.filters // 2
        return tuple(tf.nn.conv2d(x, kernel[..., part], strides=1, padding="SAME") + bias[..., part]
                     for part in (slice(None, half), slice(half, None)))

    def rows_cache(self, width, batch, features):
        """A cache of this layer's input over the r + 1 rows the causal kernel reads (rows below
        the center are masked): [r + 1, W + 2c, B, C] (r, c: row and column radius), oldest row
        first, the current row last. Zeros stand for the SAME padding around the image."""
        return tf.zeros([self.row_radius + 1, width + 2 * self.column_radius, batch, features], self.compute_dtype)

    def next_row(self, rows):
        """The cache at the start of a new image row: the oldest row dropped, a zero row appended.
        Entries right of the center are masked, so the zeros never change an output."""
        return tf.concat([rows[1:], tf.zeros_like(rows[:1])], axis=0)

    def write(self, rows, j, value):
        """rows with the input at column j of the current row set to value [B, C]."""
        value = tf.cast(value, rows.dtype)
        return tf.tensor_scatter_nd_update(rows, [[self.row_radius, j + self.column_radius]], value[None])

    def write_row(self, rows, values):
        """rows with the whole current row set to values [W, B, C]."""
        padded = tf.pad(tf.cast(values, rows.dtype), [[self.column_radius, self.column_radius], [0, 0], [0, 0]])
        return tf.concat([rows[:-1], padded[None]], axis=0)

    def step_kernel(self):
        """The masked kernel as the one-position path uses it, computed once per sampling run: the
        r + 1 rows at and above the center flattened to [(r + 1) * kw * C, filters] (k x k layers),
        or the [C, filters] matrix (1 x 1 layers)."""
        kernel = self.masked_kernel()[:self.row_radius + 1]
        return tf.reshape(kernel, [-1, self.filters])

    def at(self, rows, j, kernel, bias):
        """The output at column j of the current row from the cache of this layer's input, with
        `kernel` = `step_kernel()` and `bias` this layer's bias (plus any adaptive bias)."""
        window = tf.slice(rows, [0, j, 0, 0], [-1, self.kernel_shape[1], -1, -1])  # [r + 1, kw, B, C]
        batch = tf.shape(rows)[2]
        return tf.matmul(tf.reshape(tf.transpose(window, [2, 0, 1, 3]), [batch, -1]), kernel) + bias

    def row_at(self, rows, bias):
        """The outputs along the whole current row from the cache of this layer's input: [W, B, F]
        (a vertical-stack layer, whose inputs on that row are all known before the row is drawn)."""
        kernel = self.masked_kernel()[:self.row_radius + 1]
        out = tf.nn.conv2d(tf.transpose(rows, [2, 0, 1, 3]), kernel, strides=1, padding="VALID")  # [B, 1, W, F]
        return tf.transpose(out[:, 0], [1, 0, 2]) + bias


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
        super().__init__(autocast=False, **kwargs)
        self._set_up(image_shape, features, output, conditioning, jit_sampler)
        height, width, channels = self.image_shape
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
            sizes = {"conv_in": wide, "conv_out": hidden, "conv_logits": channels * self.levels}
            for b in range(blocks):
                sizes.update({f"block{b}_reduce": narrow, f"block{b}_spatial": narrow, f"block{b}_expand": wide})
                if gated:
                    sizes[f"block{b}_gate"] = narrow
            self.biases = {name: keras.layers.Dense(size, name=f"bias_{name}") for name, size in sizes.items()}
        elif conditioning == "location_dependent":
            self.spatial_bias = keras.layers.Dense(height * width, name="bias_map")

    def _set_up(self, image_shape, features: int, output: str, conditioning: str, jit_sampler: bool) -> None:
        """What both networks check and keep: shape, output kind, conditioning, sampler compilation."""
        # The cached sampler's loops compiled with XLA: about 6x faster on CPU, where the graph
        # executor's per-op cost dominates the one-pixel steps (benchmarks/pixelcnn_sampling).
        self.jit_sampler = jit_sampler
        configs.check_choice("PixelCNN output", output, OUTPUTS)
        configs.check_choice("conditioning", conditioning, CONDITIONING)
        self.image_shape = tuple(int(d) for d in image_shape)
        if features < self.image_shape[-1]:
            raise ValueError(f"PixelCNN features ({features}) must be at least the image channels "
                             f"({self.image_shape[-1]})")
        self.output_kind, self.conditioning = output, conditioning
        self.levels = 1 if output == "bernoulli" else _LEVELS

    def describe(self) -> str:
        return f"single-stack PixelCNN, {len(self.blocks)} blocks of {self.blocks[0]['spatial'].filters} features" \
            if self.blocks else "single-stack PixelCNN, no blocks"

    # --- whole images ------------------------------------------------------------------------------
    def call(self, images, code=None):
        vectors, spatial_map = self._conditioning(code)
        def bias(name):
            return vectors[name][:, None, None, :] if name in vectors else None

        h = self.conv_in(self._inputs(images), bias("conv_in"))
        if spatial_map is not None:
            h = h + spatial_map
        for b, block in enumerate(self.blocks):
            t = tf.nn.relu(block["reduce"](tf.nn.relu(h), bias(f"block{b}_reduce")))
            gate = block["gate"](t, bias(f"block{b}_gate")) if "gate" in block else None
            h = h + block["expand"](self._spatial(block["spatial"](t, bias(f"block{b}_spatial")), gate),
                                    bias(f"block{b}_expand"))
        out = tf.nn.relu(self.conv_out(tf.nn.relu(h), bias("conv_out")))
        return self._shape_logits(self.conv_logits(out, bias("conv_logits")))

    def _inputs(self, images):
        if self.output_kind == "bernoulli":
            images = binarize(images)
        return images - 0.5

    @staticmethod
    def _spatial(filtered, gate):
        """ReLU, or the gated unit tanh(filtered) * sigmoid(gate)."""
        return tf.nn.relu(filtered) if gate is None else tf.tanh(filtered) * tf.sigmoid(gate)

    def _shape_logits(self, logits):
        """float32 logits (whatever the layers compute in) in the output's shape."""
        logits = tf.cast(logits, tf.float32)
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

    @property
    def input_layer(self) -> MaskedConv2D:
        """The layer whose rows cache holds the network's inputs x - 0.5 in the cached sampler."""
        return self.conv_in

    def _sample_given_uniforms(self, uniform, code):
        """The cached sampler's loops, pixel by pixel in raster order and channel by channel
        within a pixel. The network's part comes from `_sampler`: the caches it keeps, what it
        does at the start of each row, and the logits at one position."""
        n = tf.shape(uniform)[0]
        height, width, channels = self.image_shape
        uniform = tf.transpose(uniform, [1, 2, 3, 0])  # [H, W, C, B]
        if not self.built:  # the samplers read the kernels directly: create them first
            self(tf.zeros([1, *self.image_shape]), None if code is None else code[:1])
        caches, start_row, logits_at = self._sampler(n, code)
        first = self.input_layer

        def pixel_step(i, j, row, inputs, caches):
            pixel = tf.zeros([n, channels])
            for c in range(channels):  # R, then G given R, then B given both (the final pass fills the caches)
                logits, caches = logits_at(i, j, inputs, caches)
                pixel = tf.tensor_scatter_nd_update(pixel, _channel_indices(n, c),
                                                    self.draw(logits[:, c], uniform[i, j, c]))
                inputs = first.write(inputs, j, pixel - 0.5)
            return j + 1, row.write(j, pixel), inputs, caches

        def row_step(i, rows, inputs, caches):
            inputs = first.next_row(inputs)
            caches = start_row(i, inputs, caches)
            row = tf.TensorArray(tf.float32, size=width)
            _, row, inputs, caches = tf.while_loop(
                lambda j, *_: j < width, lambda j, *state: pixel_step(i, j, *state),
                [tf.constant(0), row, inputs, caches])
            return i + 1, rows.write(i, row.stack()), inputs, caches

        inputs = first.rows_cache(width, n, channels)
        rows = tf.TensorArray(tf.float32, size=height)
        _, rows, _, _ = tf.while_loop(lambda i, *_: i < height, row_step, [tf.constant(0), rows, inputs, caches])
        images = tf.transpose(rows.stack(), [2, 0, 1, 3])  # [H, W, B, C] -> [B, H, W, C]
        return images if self.levels == 1 else tf.round(images * (_LEVELS - 1)) / (_LEVELS - 1)

    def _step_logits(self, logits):
        logits = tf.cast(logits, tf.float32)
        return tf.reshape(logits, [-1, self.image_shape[-1], self.levels]) if self.levels > 1 else logits

    def _sampler(self, n, code):
        """(caches, start_row, logits_at) of the cached sampler. Everything that does not change
        from pixel to pixel is computed here, before the loops: masked and flattened kernels,
        biases with the adaptive biases folded in. The caches are the kxk convolutions' inputs;
        they move on once per image row."""
        width = self.image_shape[1]
        vectors, spatial_map = self._conditioning(code)
        layers = {"conv_in": self.conv_in, "conv_out": self.conv_out, "conv_logits": self.conv_logits}
        for b, block in enumerate(self.blocks):
            layers.update({f"block{b}_{part}": layer for part, layer in block.items()})
        kernel = {name: layer.step_kernel() for name, layer in layers.items()}
        bias = {name: layer.compute_bias() + vectors.get(name, 0.0) for name, layer in layers.items()}
        if spatial_map is not None:  # the location-dependent map joins conv_in's bias, per pixel
            spatial_map = tf.transpose(spatial_map[..., 0], [1, 2, 0])[..., None]  # [H, W, B, 1]

        def start_row(i, inputs, caches):
            return [block["spatial"].next_row(cache) for block, cache in zip(self.blocks, caches)]

        def logits_at(i, j, inputs, caches):
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
            return self._step_logits(tf.matmul(out, kernel["conv_logits"]) + bias["conv_logits"]), new_caches

        caches = [block["spatial"].rows_cache(width, n, block["spatial"].filters) for block in self.blocks]
        return caches, start_row, logits_at


class GatedPixelCNN(PixelCNN):
    """The Gated PixelCNN (van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves, Kavukcuoglu 2016b,
    "Conditional image generation with PixelCNN decoders", Section 2 and Fig. 2), the decoder the
    PixelGAN autoencoder builds on: two stacks without a blind spot.
      - vertical stack: k x k convolutions over the rows above (`causal_mask` "vertical_A" in the
        first layer, "vertical_B" after), gated: v = tanh(W_f * v) . sigmoid(W_g * v);
      - horizontal stack: 1 x k convolutions over the pixels to the left in the row (type A in the
        first layer, B after), plus a 1 x 1 link from the vertical stack's pre-activations at the
        same position, gated, then a 1 x 1 convolution and a residual connection (from the second
        layer on; the first layer's input is the image);
      - the single-stack network's output layers (ReLU, 1 x 1, ReLU, 1 x 1 to the logits).
    `features` is p, the gated units per stack; `blocks` the gated layers after the first, whose
    kernel sizes follow `receptive_field` as in the single stack (the output at (i, j) sees the
    rows up to the same reach above and the pixels up to it on either side / to the left).
    Conditioning (PixelGAN Section 2, "adaptive bias"): location-invariant adds a vector from the
    code to the pre-activations of every layer of both stacks and of the output layers;
    location-dependent adds an H x W map to the first layer's pre-activations in both stacks (the
    map at row i reaches the outputs of row i through the horizontal stack and of the rows below
    through the vertical one)."""

    def __init__(self, image_shape, features: int = 64, blocks: int = 12, receptive_field: int = 0,
                 output: str = "categorical", output_features: int = 0, conditioning: str = "none",
                 jit_sampler: bool = False, **kwargs):
        keras.layers.Layer.__init__(self, autocast=False, **kwargs)
        self._set_up(image_shape, features, output, conditioning, jit_sampler)
        height, width, channels = self.image_shape
        self.features = features
        first, block_kernels = first_kernel_and_block_kernels(receptive_field, blocks)
        self.kernels = [first] + block_kernels
        self.stack = []
        for layer, kernel in enumerate(self.kernels):
            a_or_b = "A" if layer == 0 else "B"
            self.stack.append({
                "vertical": MaskedConv2D(2 * features, kernel, "vertical_" + a_or_b, channels, name=f"layer{layer}_v"),
                "filter": MaskedConv2D(features, (1, kernel), a_or_b, channels, name=f"layer{layer}_h_filter"),
                "gate": MaskedConv2D(features, (1, kernel), a_or_b, channels, name=f"layer{layer}_h_gate"),
                # The link sees only rows above (the vertical stack's), so it needs no mask.
                "link": keras.layers.Dense(2 * features, name=f"layer{layer}_link"),  # built below
                "out": MaskedConv2D(features, 1, "B", channels, name=f"layer{layer}_h_out"),
            })
            self.stack[-1]["link"].build((None, 2 * features))  # `call` reads its weights directly
        hidden = output_features or 2 * features
        self.conv_out = MaskedConv2D(hidden, 1, "B", channels, name="conv_out")
        self.conv_logits = MaskedConv2D(channels * self.levels, 1, "B", channels, name="conv_logits")
        if conditioning == "location_invariant":
            sizes = {"conv_out": hidden, "conv_logits": channels * self.levels}
            for layer in range(len(self.kernels)):
                sizes.update({f"layer{layer}_v": 2 * features, f"layer{layer}_h": 2 * features})
            self.biases = {name: keras.layers.Dense(size, name=f"bias_{name}") for name, size in sizes.items()}
        elif conditioning == "location_dependent":
            self.spatial_bias = keras.layers.Dense(height * width, name="bias_map")

    @property
    def input_layer(self) -> MaskedConv2D:
        return self.stack[0]["vertical"]

    def describe(self) -> str:
        return f"Gated PixelCNN (two stacks), {len(self.stack)} layers of {self.features} features"

    @staticmethod
    def _gate(pre):
        filtered, gate = tf.split(pre, 2, axis=-1)
        return tf.tanh(filtered) * tf.sigmoid(gate)

    def call(self, images, code=None):
        vectors, spatial_map = self._conditioning(code)
        def bias(name):
            return vectors[name][:, None, None, :] if name in vectors else None

        # Each gated unit's two halves (filter, gate) are kept apart as two tensors throughout, so no
        # full-size split or concatenation is made: the link's matrix is applied in four blocks.
        v = h = self._inputs(images)
        p = self.features
        for layer, parts in enumerate(self.stack):
            v_filter, v_gate = parts["vertical"](v, bias(f"layer{layer}_v"), halves=True)
            h_bias = bias(f"layer{layer}_h")
            h_filter = parts["filter"](h, None if h_bias is None else h_bias[..., :p])
            h_gate = parts["gate"](h, None if h_bias is None else h_bias[..., p:])
            if layer == 0 and spatial_map is not None:
                v_filter, v_gate = v_filter + spatial_map, v_gate + spatial_map
                h_filter, h_gate = h_filter + spatial_map, h_gate + spatial_map
            link = parts["link"]
            kernel, link_bias = tf.cast(link.kernel, v_filter.dtype), tf.cast(link.bias, v_filter.dtype)
            h_filter = h_filter + _pointwise(v_filter, kernel[:p, :p]) + _pointwise(v_gate, kernel[p:, :p]) \
                + link_bias[:p]
            h_gate = h_gate + _pointwise(v_filter, kernel[:p, p:]) + _pointwise(v_gate, kernel[p:, p:]) + link_bias[p:]
            v = tf.tanh(v_filter) * tf.sigmoid(v_gate)
            out = parts["out"](tf.tanh(h_filter) * tf.sigmoid(h_gate))
            h = out if layer == 0 else h + out
        out = tf.nn.relu(self.conv_out(tf.nn.relu(h), bias("conv_out")))
        return self._shape_logits(self.conv_logits(out, bias("conv_logits")))

    def _sampler(self, n, code):
        """The vertical stack is computed a whole row at a time at the start of the row (it sees
        only the rows above); the horizontal stack a pixel at a time from one-row caches of its
        layers' inputs. Caches: (the vertical layers' input rows from the second layer on, the
        horizontal layers' current-row inputs from the second layer on, each layer's link row)."""
        width, features = self.image_shape[1], self.features
        vectors, spatial_map = self._conditioning(code)
        def bias(name, layer):
            return layer.compute_bias() + vectors.get(name, 0.0)

        kernel = {(layer, part): parts[part].step_kernel() for layer, parts in enumerate(self.stack)
                  for part in ("filter", "gate", "out")}
        h_bias = [tf.concat([parts["filter"].compute_bias(), parts["gate"].compute_bias()], axis=-1)
                  + vectors.get(f"layer{layer}_h", 0.0)
                  for layer, parts in enumerate(self.stack)]
        out_kernel, out_bias = self.conv_out.step_kernel(), bias("conv_out", self.conv_out)
        logits_kernel, logits_bias = self.conv_logits.step_kernel(), bias("conv_logits", self.conv_logits)
        if spatial_map is not None:
            spatial_map = tf.transpose(spatial_map[..., 0], [1, 2, 0])[..., None]  # [H, W, B, 1]

        def start_row(i, inputs, caches):
            vertical_caches, _, _ = caches
            new_vertical, links, v_row = [], [], None
            for layer, parts in enumerate(self.stack):
                rows = inputs
                if layer:
                    rows = parts["vertical"].write_row(parts["vertical"].next_row(vertical_caches[layer - 1]), v_row)
                    new_vertical.append(rows)
                v_pre = parts["vertical"].row_at(rows, bias(f"layer{layer}_v", parts["vertical"]))  # [W, B, 2p]
                if layer == 0 and spatial_map is not None:
                    v_pre = v_pre + spatial_map[i]
                links.append(parts["link"](v_pre))
                v_row = self._gate(v_pre)
            horizontal = [tf.zeros_like(cache) for cache in caches[1]]
            return new_vertical, horizontal, links

        def logits_at(i, j, inputs, caches):
            vertical_caches, horizontal_caches, links = caches
            h, new_horizontal = None, []
            for layer, parts in enumerate(self.stack):
                if layer == 0:
                    rows = inputs[-1:]  # the image's current row
                else:
                    rows = parts["filter"].write(horizontal_caches[layer - 1], j, h)
                    new_horizontal.append(rows)
                pre = tf.concat([parts["filter"].at(rows, j, kernel[layer, "filter"], 0.0),
                                 parts["gate"].at(rows, j, kernel[layer, "gate"], 0.0)], axis=-1)
                pre = pre + h_bias[layer] + links[layer][j]
                if layer == 0 and spatial_map is not None:
                    pre = pre + spatial_map[i, j]
                out = tf.matmul(self._gate(pre), kernel[layer, "out"]) + parts["out"].compute_bias()
                h = out if layer == 0 else h + out
            out = tf.nn.relu(tf.matmul(tf.nn.relu(h), out_kernel) + out_bias)
            logits = self._step_logits(tf.matmul(out, logits_kernel) + logits_bias)
            return logits, (vertical_caches, new_horizontal, links)

        vertical = [parts["vertical"].rows_cache(width, n, features) for parts in self.stack[1:]]
        horizontal = [parts["filter"].rows_cache(width, n, features) for parts in self.stack[1:]]
        links = [tf.zeros([width, n, 2 * features], self.compute_dtype) for _ in self.stack]
        return (vertical, horizontal, links), start_row, logits_at


STACKS = (1, 2)


def make(image_shape, features: int, blocks: int, receptive_field: int = 0, gated: bool = False,
         output: str = "categorical", conditioning: str = "none", stacks: int = 1, jit_sampler: bool = False,
         name: str = "pixelcnn") -> PixelCNN:
    """The single-stack PixelCNN (`stacks=1`, gated or not) or the Gated PixelCNN's two stacks
    (`stacks=2`, always gated)."""
    configs.check_choice("PixelCNN stacks", stacks, STACKS)
    if stacks == 2:
        return GatedPixelCNN(image_shape, features, blocks, receptive_field, output, conditioning=conditioning,
                             jit_sampler=jit_sampler, name=name)
    return PixelCNN(image_shape, features, blocks, receptive_field, gated, output, conditioning=conditioning,
                    jit_sampler=jit_sampler, name=name)


def _pointwise(x, matrix):
    """x [..., C] times matrix [C, F] as one 2-D product: [..., F]."""
    out = tf.matmul(tf.reshape(x, [-1, tf.shape(x)[-1]]), matrix)
    return tf.reshape(out, tf.concat([tf.shape(x)[:-1], tf.shape(matrix)[-1:]], axis=0))


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
