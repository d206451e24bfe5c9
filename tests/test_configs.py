import ast
import dataclasses
import inspect
import json
import textwrap

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


# ------------------------------------------------------------------ every field is read


def _config_reads(source: str) -> set[str]:
    """Config fields a piece of code reads: `config.x`, `self.config.x`, `base.x`,
    `getattr(config, "x", ...)`, and `configs.num_labels(config)` (the semi-supervised part)."""
    names = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.Attribute):
            receiver = node.value
            if (isinstance(receiver, ast.Name) and receiver.id in ("config", "base")) or (
                    isinstance(receiver, ast.Attribute) and receiver.attr == "config"):
                names.add(node.attr)
        elif isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id == "getattr" and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant):
                names.add(node.args[1].value)
            if isinstance(function, ast.Attribute) and function.attr == "num_labels":
                names.add("num_labels")
    return names


def _reachable_methods(model_cls, phases: set[str] | None):
    """The functions a family runs: every method of its class (its own, or the nearest ancestor's;
    an override that calls `super().<name>(` also runs the ancestor's), less the `<phase>_phase`
    methods of phases no preset of the family has (`phases`, where the family has a `plan`)."""
    for name in dir(model_cls):
        if phases is not None and name.endswith("_phase") and name[:-len("_phase")] not in phases:
            continue
        for klass in model_cls.__mro__:
            function = getattr(vars(klass).get(name), "__func__", vars(klass).get(name))
            if not inspect.isfunction(function):
                continue
            if not function.__module__.startswith("zoo.") and function.__module__ != model_cls.__module__:
                break
            source = inspect.getsource(function)
            yield source
            if f"super().{name}(" not in source:
                break


@pytest.mark.parametrize("family", registry.families())
def test_every_config_field_is_read_by_its_family(family):
    """A static check: each field a family's config declares beyond the shared `Config` (which
    zoo.training reads) is read by the code that family runs; so no config offers a setting that
    changes nothing. (Lenient where a family inherits a helper method it never calls: that
    method's reads count.)"""
    entry = registry.family(family)
    # zoo.training reads the shared fields, and the labeled batches' size
    shared = {f.name for f in dataclasses.fields(configs.Config)} | {"labeled_batch_size"}
    phases = None
    if hasattr(entry.model_cls, "plan"):
        phases = set().union(*(entry.model_cls.plan(registry.preset(name))[0] for name in registry.presets(family)))
    read = set().union(*map(_config_reads, _reachable_methods(entry.model_cls, phases)))
    declared = {f.name for f in dataclasses.fields(entry.config_cls)} - shared
    assert declared - read == set(), f"{family} never reads {sorted(declared - read)}"


def test_shared_fields_are_read_by_training():
    import zoo.training

    read = _config_reads(inspect.getsource(zoo.training))
    assert {f.name for f in dataclasses.fields(configs.Config)} - {"model"} | {"labeled_batch_size"} <= read


def test_every_registered_preset_validates():
    for name in registry.presets():
        registry.preset(name).validate()


def test_draw_names_give_fixed_seeds():
    # The same (run seed, name) gives the same key on every run and Python version (no hash()).
    from zoo.models.base import draw_key

    assert draw_key(0, "aae/prior_z") == draw_key(0, "aae/prior_z") != draw_key(1, "aae/prior_z")
    assert draw_key(0, "aae/prior_z") != draw_key(0, "aae/prior_y")
    assert 0 <= draw_key(7, "x") < 2 ** 31
    assert draw_key(0, "aae/prior_z") == 2067500983  # SHA-256 of "0/aae/prior_z", first 31 bits


def test_a_config_file_with_fields_its_family_no_longer_has_still_loads(tmp_path):
    # Written before the FIAE's config dropped the fields it never read.
    fields = json.loads(registry.preset("fiae/tiny").to_json())
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**fields, "num_labels": 0, "labeled_batch_size": 100, "optimizer": "adam",
                                "learning_rate": 2e-4, "reconstruction_loss": "bce"}))
    assert registry.config_from_file(str(path)) == registry.preset("fiae/tiny")
    path.write_text(json.dumps({**fields, "nope": 1}))
    with pytest.raises(ValueError, match="unknown config key"):
        registry.config_from_file(str(path))
