"""`precision=mixed_bfloat16`: layers compute in bfloat16 with float32 variables, and the model
takes, returns, checkpoints and exports float32, for every family that offers it."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_export import example_inputs

from zoo import registry, training
from zoo.export import saved_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIXED = [name for name in registry.families()
         if "mixed_bfloat16" in registry.family(name).config_cls.PRECISIONS]


def _bfloat16_layers(model):
    return [layer.name for layer in model._flatten_layers() if layer.compute_dtype == "bfloat16"]


@pytest.mark.parametrize("family", MIXED)
def test_tiny_preset_trains_resumes_and_exports_in_bfloat16(family, tmp_path):
    config = registry.resolve(preset_name=f"{family}/tiny", overrides=["precision=mixed_bfloat16"])
    training.run(registry.resolve(preset_name=f"{family}/tiny", steps=2, overrides=["precision=mixed_bfloat16"]),
                 str(tmp_path), verbose=0)
    logs = training.run(config, str(tmp_path), verbose=0)  # resumed from step 2
    assert logs and all(np.isfinite(v) for v in logs.values()), logs
    _, _, model = training.restore(str(tmp_path))
    assert int(model.step_counter.numpy()) == config.steps
    assert _bfloat16_layers(model), "no layer computes in bfloat16"
    assert all(v.dtype == "float32" for v in model.weights), [v.path for v in model.weights if v.dtype != "float32"]
    loaded = tf.saved_model.load(saved_model.export(str(tmp_path), str(tmp_path / "exported")))
    inputs = example_inputs(model, config)
    for endpoint, (function, names) in model.endpoints().items():
        # As a graph, as the SavedModel runs it. In bfloat16 (8 bits of mantissa: a unit in the last
        # place is 2^-8 relative) eager and graph execution, and a graph optimized at export, fuse and
        # so round differently on CPUs with native bfloat16 kernels: measured up to 2 units.
        expected = tf.function(function)(*[tf.constant(inputs[name]) for name in names])
        got = loaded.signatures[endpoint](**{name: tf.constant(inputs[name]) for name in names})
        for key, value in expected.items():
            assert got[key].dtype == tf.float32 and np.asarray(value).dtype == np.float32, (endpoint, key)
            np.testing.assert_allclose(got[key].numpy(), np.asarray(value), rtol=2 ** -6, atol=2e-3,
                                       err_msg=f"{endpoint}.{key}")


def test_an_unknown_precision_says_which_there_are():
    with pytest.raises(ValueError, match="unknown precision 'bfloat16'; known: float32, mixed_bfloat16, mixed_float16"):
        registry.resolve(preset_name="pixelgan/tiny", overrides=["precision=bfloat16"])


@pytest.mark.parametrize("preset", ["aae/tiny", "pixelgan/tiny"])
def test_float16_scales_each_phase_loss_and_resumes(preset, tmp_path):
    """`mixed_float16` (GPUs): float16 layers, every phase's optimizer a loss-scaling one whose
    scale is checkpointed with it."""
    config = registry.resolve(preset_name=preset, overrides=["precision=mixed_float16"])
    training.run(registry.resolve(preset_name=preset, steps=2, overrides=["precision=mixed_float16"]),
                 str(tmp_path), verbose=0)
    logs = training.run(config, str(tmp_path), verbose=0)
    assert logs and all(np.isfinite(v) for v in logs.values()), logs
    _, _, model = training.restore(str(tmp_path))
    assert int(model.step_counter.numpy()) == config.steps
    assert any(layer.compute_dtype == "float16" for layer in model._flatten_layers())
    assert all(v.dtype == "float32" for v in model.weights)
    for optimizer in model.phase_optimizers.values():
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert 0 < float(optimizer.dynamic_scale.numpy()) <= 2 ** 15


@pytest.mark.parametrize("preset", ["aae/tiny", "pixelgan/tiny"])
def test_mirrored_on_two_cpus_matches_one_device_in_bfloat16(preset, tmp_path, mirrored):
    config = registry.resolve(preset_name=preset, overrides=["precision=mixed_bfloat16"])
    single = training.run(config, str(tmp_path / "single"), verbose=0)
    replicated = training.run(config, str(tmp_path / "mirrored"), strategy=mirrored, verbose=0)
    for key in single:  # bfloat16 keeps 8 bits of mantissa: the replicas' sums round differently
        assert replicated[key] == pytest.approx(single[key], rel=2e-2, abs=2e-2), key


def test_training_speed_benchmark_prints_both_precisions():  # each segment in a process of its own
    result = subprocess.run([sys.executable, "-m", "benchmarks.training_speed", "--presets=aae/tiny",
                             "--steps=2", "--rounds=1", "--warmup=1"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    assert "x |" in rows["aae/tiny"], result.stdout


def test_step_profile_shows_the_fused_adam_update():
    result = subprocess.run([sys.executable, "-m", "benchmarks.step_profile", "--preset=aae/tiny", "--steps=2",
                             "--set=precision=mixed_bfloat16"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    op_types = [line.split("|")[1].strip() for line in result.stdout.splitlines() if line.startswith("| ")]
    assert "ResourceApplyAdam" in op_types and "Cast" in op_types, result.stdout


def test_pixelcnn_sampling_benchmark_compares_the_samplers_at_both_precisions():
    result = subprocess.run([sys.executable, "-m", "benchmarks.pixelcnn_sampling", "--preset=pixelcnn/tiny",
                             "--samples=2", "--steps=2", "--rounds=1"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    bfloat16 = [line for line in result.stdout.splitlines() if "fast sampler, bfloat16 graph" in line]
    # bfloat16 rounds the full-image and the cached convolutions' sums differently, so a draw may flip a pixel:
    # test_autoregressive tests the cached sampler against the network's own logits at each precision.
    assert bfloat16 and "identical images: " in bfloat16[0] and "x float32's" in result.stdout, result.stdout
