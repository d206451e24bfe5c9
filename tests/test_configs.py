import json

import pytest

from zoo import configs, registry


def test_every_family_has_default_and_tiny_presets():
    for family in registry.families():
        assert f"{family}/default" in registry.presets(family)
        assert f"{family}/tiny" in registry.presets(family)


@pytest.mark.parametrize("kind,text,expected", [
    (int, "12", 12), (float, "1e-3", 1e-3), (bool, "true", True), (bool, "0", False),
    (str, "fashion_mnist", "fashion_mnist"), (tuple[int, ...], "(8, 16)", (8, 16)), (tuple[int, ...], "8,16", (8, 16)),
])
def test_set_values_parse_as_the_field_type(kind, text, expected):
    assert configs.parse_value(text, kind, "key") == expected


@pytest.mark.parametrize("kind,text", [(int, "__import__('os').getcwd()"), (int, "1.5"), (bool, "yes please")])
def test_set_values_are_never_evaluated(kind, text):
    with pytest.raises(ValueError, match="cannot parse"):
        configs.parse_value(text, kind, "key")


def test_resolve_order_preset_flags_overrides():
    config = registry.resolve(preset_name="aae/tiny", steps=7, overrides=["steps=9", "widths=4,4", "code_size=3"])
    assert (config.steps, config.widths, config.code_size) == (9, (4, 4), 3)


def test_a_preset_name_without_family_is_the_models():
    assert registry.resolve(model="iae", preset_name="tiny") == registry.resolve(preset_name="iae/tiny")
    with pytest.raises(ValueError, match="disagrees"):
        registry.resolve(model="iae", preset_name="aae/tiny")


@pytest.mark.parametrize("kwargs,message", [
    (dict(model="nope"), "unknown model 'nope'; known models: aae"),
    (dict(preset_name="aae/nope"), "unknown preset 'aae/nope'; known presets: .*aae/tiny"),
    (dict(model="aae", dataset="nope"), "unknown dataset 'nope'; known datasets: digits"),
    (dict(model="aae", overrides=["nope=1"]), "unknown config key.*nope.*known keys: .*batch_size"),
    (dict(model="aae", overrides=["steps"]), "expects key=value"),
    (dict(model="aae", overrides=["checkpoint_every=7"]), "multiple of log_every"),
    (dict(model="aae", overrides=["code_size=0"]), "code_size > 0 or num_clusters > 0"),
])
def test_bad_names_fail_early_listing_known_ones(kwargs, message):
    with pytest.raises(ValueError, match=message):
        registry.resolve(**kwargs)


def test_config_json_round_trip(tmp_path):
    config = registry.resolve(preset_name="aae/tiny_clustering")
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    assert registry.config_from_file(str(path)) == config
    path.write_text(json.dumps({"model": "aae", "steps": "3"}))
    with pytest.raises(ValueError, match="expected int"):
        registry.config_from_file(str(path))
