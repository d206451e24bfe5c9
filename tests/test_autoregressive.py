"""The PixelCNN's masks, receptive field and samplers, checked on the network itself: gradients of
one output with respect to every input value, and the two samplers drawing the same images."""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import autoregressive

VARIANTS = [  # image shape, output, conditioning, gated, receptive field, stacks
    ((6, 5, 1), "categorical", "none", False, 0, 1),
    ((5, 4, 3), "categorical", "location_invariant", True, 5, 1),
    ((6, 6, 1), "bernoulli", "location_dependent", False, 7, 1),
    ((6, 5, 1), "categorical", "location_invariant", True, 0, 2),
    ((5, 4, 3), "categorical", "none", True, 5, 2),
    ((6, 6, 1), "bernoulli", "location_dependent", True, 7, 2),
    ((5, 4, 3), "categorical", "location_invariant", True, 9, 2),  # RGB; 7x7, 3x3 and 1x1 layers
]


def _network(shape, output="categorical", conditioning="none", gated=False, receptive_field=0, blocks=3, stacks=1):
    tf.random.set_seed(0)
    return autoregressive.make(shape, features=6, blocks=blocks, receptive_field=receptive_field, gated=gated,
                               output=output, conditioning=conditioning, stacks=stacks)


def _dependence(network, shape, i, j, c, code=None, batch=8):
    """|d logits(i, j, c) / d input| summed over a batch of random images: [H, W, C]."""
    x = tf.random.uniform([batch, *shape], seed=1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = network(x, code)[:, i, j, c]
        total = tf.reduce_sum(logits * tf.random.normal(logits.shape, seed=2))
    return tf.reduce_sum(tf.abs(tape.gradient(total, x)), axis=0).numpy()


def _reachable(first_kernel, block_kernels):
    """Offsets (dy, dx) the stack can see, composed from the masks' definitions: type A sees the
    rows above within its radius and the pixels to the left; type B also the center."""
    def taps(kernel, center):
        r = kernel // 2
        return {(dy, dx) for dy in range(-r, 1) for dx in range(-r, r + 1) if dy < 0 or dx < 0 or (center and dx == 0)}
    offsets = taps(first_kernel, center=False)
    for kernel in block_kernels:
        offsets = {(a + c, b + d) for a, b in offsets for c, d in taps(kernel, center=True)}
    return offsets


@pytest.mark.parametrize("shape,gated,stacks", [((9, 9, 1), False, 1), ((7, 7, 3), True, 1), ((9, 9, 1), True, 2),
                                                ((7, 7, 3), True, 2)])
def test_mask_is_causal_over_pixels_and_channels(shape, gated, stacks):
    network = _network(shape, gated=gated, blocks=2, stacks=stacks)
    height, width, channels = shape
    for i, j, c in [(4, 4, 0), (4, 4, channels - 1), (0, 0, 0), (height - 1, width - 1, channels - 1)]:
        dependence = _dependence(network, shape, i, j, c)
        for y, x, k in itertools.product(range(height), range(width), range(channels)):
            later = (y, x) > (i, j) or ((y, x) == (i, j) and k >= c)
            if later:
                assert dependence[y, x, k] == 0, f"output ({i},{j},{c}) depends on input ({y},{x},{k})"
        if c > 0:  # G sees R of its own pixel, B sees R and G
            assert (dependence[i, j, :c] > 0).all()


@pytest.mark.parametrize("receptive_field,blocks", [(0, 2), (9, 12), (5, 3)])
def test_receptive_field_is_the_configured_one(receptive_field, blocks):
    shape = (16, 16, 1)
    network = _network(shape, receptive_field=receptive_field, blocks=blocks)
    first, kernels = autoregressive.first_kernel_and_block_kernels(receptive_field, blocks)
    i, j = 11, 8
    dependence = _dependence(network, shape, i, j, 0)[..., 0]
    seen = {(y - i, x - j) for y, x in zip(*np.nonzero(dependence))}
    assert seen == _reachable(first, kernels)  # every earlier pixel the masks admit, and no other
    if receptive_field:
        columns = {dx for _, dx in seen}
        assert max(columns) - min(columns) + 1 == receptive_field
        assert -min(dy for dy, _ in seen) == (receptive_field - 1) // 2


@pytest.mark.parametrize("receptive_field,blocks", [(0, 2), (9, 4), (5, 3)])
def test_two_stacks_see_every_pixel_above_and_left_within_the_field(receptive_field, blocks):
    """No blind spot (van den Oord et al. 2016b, Fig. 1): the output at (i, j) depends on every
    pixel of the R rows above within R columns either side and the R pixels left of it, where R is
    the single stack's reach for the same kernels."""
    shape = (16, 16, 1)
    network = _network(shape, receptive_field=receptive_field, blocks=blocks, stacks=2)
    first, kernels = autoregressive.first_kernel_and_block_kernels(receptive_field, blocks)
    reach = first // 2 + sum(k // 2 for k in kernels)
    i, j = 11, 8
    dependence = _dependence(network, shape, i, j, 0)[..., 0]
    seen = {(y - i, x - j) for y, x in zip(*np.nonzero(dependence))}
    above = {(dy, dx) for dy in range(-reach, 0) for dx in range(-reach, reach + 1)}
    assert seen == above | {(0, dx) for dx in range(-reach, 0)}
    if receptive_field:
        assert reach == (receptive_field - 1) // 2


def test_receptive_field_needs_enough_blocks():
    with pytest.raises(ValueError, match="receptive_field=21 needs at least 7 residual blocks"):
        autoregressive.first_kernel_and_block_kernels(21, 4)


@pytest.mark.parametrize("shape,output,conditioning,gated,receptive_field,stacks", VARIANTS)
def test_fast_sampler_draws_what_the_naive_one_draws(shape, output, conditioning, gated, receptive_field, stacks):
    network = _network(shape, output, conditioning, gated, receptive_field, stacks=stacks)
    code = tf.random.normal([3, 4], seed=3) if conditioning != "none" else None
    seed = tf.constant([5, 6])
    naive = tf.function(network.sample_naive)(3, seed, code).numpy()
    fast = tf.function(network.sample_fast)(3, seed, code).numpy()
    np.testing.assert_array_equal(naive, fast)
    assert naive.shape == (3, *shape) and len(np.unique(naive)) > 1
    again = tf.function(network.sample_fast)(3, tf.constant([5, 7]), code).numpy()
    assert not np.array_equal(fast, again)


def _consistent(network, images, uniform, code):
    """Per value: the interval of uniforms that the network's own logits on `images` map to the
    drawn value (the inverse-CDF draw), and the distance of the sampler's uniform outside it."""
    logits = network(tf.constant(images), code).numpy()
    if network.output_kind == "bernoulli":
        p = 1 / (1 + np.exp(-logits.astype(np.float64)))
        low, high = np.where(images > 0.5, 0.0, p), np.where(images > 0.5, p, 1.0)
    else:
        cdf = np.cumsum(tf.nn.softmax(logits).numpy().astype(np.float64), axis=-1)
        level = np.round(images * 255).astype(int)[..., None]
        high = np.take_along_axis(cdf, level, axis=-1)[..., 0]
        low = np.where(level[..., 0] > 0, np.take_along_axis(cdf, np.maximum(level - 1, 0), axis=-1)[..., 0], 0.0)
    return np.maximum(low - uniform, 0) + np.maximum(uniform - high, 0)


@pytest.mark.parametrize("precision,rounding", [("float32", 1e-5), ("mixed_bfloat16", 0.03)])
@pytest.mark.parametrize("shape,output,conditioning,gated,receptive_field,stacks", VARIANTS[:4])
def test_fast_sampler_draws_what_the_network_says(shape, output, conditioning, gated, receptive_field, stacks,
                                                  precision, rounding):
    """Under `mixed_bfloat16` the cached sampler (one-position matmuls) and the whole-image
    convolutions round differently, so the two samplers' images may part where a uniform falls
    within bfloat16's rounding of a CDF boundary. What must hold at each precision: every drawn
    value is the one the network's own logits on the finished image give its uniform, up to that
    rounding."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        network = _network(shape, output, conditioning, gated, receptive_field, stacks=stacks)
    finally:
        keras.config.set_dtype_policy(previous)
    code = tf.random.normal([4, 4], seed=3) if conditioning != "none" else None
    seed = tf.constant([5, 6])
    images = tf.function(network.sample_fast)(4, seed, code).numpy()
    assert images.dtype == np.float32 and len(np.unique(images)) > 1
    assert network.conv_logits.compute_dtype == precision.split("_")[-1]
    assert network.conv_logits.kernel.dtype == "float32"
    miss = _consistent(network, images, network.uniforms(4, seed).numpy(), code)
    assert miss.max() < rounding, miss.max()  # a sampler at a wrong position or order misses by ~0.1-1


@pytest.mark.parametrize("shape,output,conditioning,gated,receptive_field,stacks", [VARIANTS[1], VARIANTS[3]])
def test_compiled_fast_sampler_draws_what_the_naive_one_draws(shape, output, conditioning, gated, receptive_field,
                                                              stacks):
    """XLA (whose Philox stream differs from TF's) runs the loops only: same seed, same images."""
    network = _network(shape, output, conditioning, gated, receptive_field, stacks=stacks)
    code = tf.random.normal([3, 4], seed=3) if conditioning != "none" else None
    seed = tf.constant([5, 6])
    naive = tf.function(network.sample_naive)(3, seed, code).numpy()
    network.jit_sampler = True
    np.testing.assert_array_equal(naive, tf.function(network.sample_fast)(3, seed, code).numpy())
    autoregressive.portable_samplers(keras.Sequential([network]))
    assert not network.jit_sampler


@pytest.mark.parametrize("stacks", [1, 2])
def test_an_unbuilt_network_samples(stacks):
    network = _network((4, 4, 1), stacks=stacks)
    assert not network.built
    assert network.sample_fast(2, tf.constant([1, 2])).shape == (2, 4, 4, 1)


def test_location_dependent_bias_enters_the_first_layer_only():
    network = _network((6, 6, 1), conditioning="location_dependent")
    network(tf.zeros([1, 6, 6, 1]), tf.zeros([1, 4]))
    assert network.spatial_bias.kernel.shape == (4, 36)
    assert not hasattr(network, "biases")
