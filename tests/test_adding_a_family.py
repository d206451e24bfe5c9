"""The example family of docs/adding_a_family.md (tests/example_family.py) registers, builds and trains
like any other; tests/conftest.py imports it, so the generic tests of test_models.py and
test_export.py run on `example_ae/tiny` too."""
import math

import example_family  # noqa: F401  (importing registers example_ae)

from zoo import registry, training


def test_the_example_family_is_registered_with_its_presets():
    assert "example_ae" in registry.families()
    assert registry.presets("example_ae") == ["example_ae/default", "example_ae/tiny"]
    assert registry.family("example_ae").model_cls is example_family.ExampleAE
    assert registry.preset("example_ae/tiny").dataset == "digits"


def test_the_tiny_preset_builds_and_trains_with_finite_losses(tmp_path):
    config = registry.resolve(preset_name="example_ae/tiny")
    _, model = training.build(config)
    assert dict(model.phases) == {"reconstruction": ("encoder", "decoder")}
    logs = training.run(config, str(tmp_path), verbose=0)
    assert "reconstruction_loss" in logs and all(math.isfinite(value) for value in logs.values()), logs
    _, _, restored = training.restore(str(tmp_path))
    assert int(restored.step_counter.numpy()) == config.steps
