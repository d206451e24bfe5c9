"""Names -> builders: model families, their presets, and the resolution of a run's config.

A family registers its model class and config class; presets are named `<family>/<name>` and every
family has `<family>/default` and `<family>/tiny`. Unknown names fail at once, listing the known ones.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Callable

from zoo import configs

_FAMILIES: dict[str, "Family"] = {}
_PRESETS: dict[str, configs.Config] = {}


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    model_cls: type
    config_cls: type


def register_family(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: `@register_family("aae", AAEConfig)` on the keras.Model subclass."""

    def decorate(model_cls: type) -> type:
        _FAMILIES[name] = Family(name, model_cls, config_cls)
        return model_cls

    return decorate


def register_preset(name: str, config: configs.Config) -> configs.Config:
    family = name.split("/")[0]
    if family != config.model:
        raise ValueError(f"preset {name} must be named after its model {config.model}")
    _PRESETS[name] = config
    return config


def _load_families() -> None:
    import zoo.models  # noqa: F401  (importing registers every family)


def families() -> list[str]:
    _load_families()
    return sorted(_FAMILIES)


def presets(family: str | None = None) -> list[str]:
    _load_families()
    return sorted(n for n in _PRESETS if family is None or n.startswith(family + "/"))


def family(name: str) -> Family:
    _load_families()
    configs.check_choice("model", name, sorted(_FAMILIES), "known models")
    return _FAMILIES[name]


def preset(name: str) -> configs.Config:
    _load_families()
    configs.check_choice("preset", name, sorted(_PRESETS), "known presets")
    return _PRESETS[name]


def config_from_file(path: str) -> configs.Config:
    with open(path) as f:
        data = json.load(f)
    if "model" not in data:
        raise ValueError(f"{path}: a config file must name its 'model'")
    return configs.from_json_dict(family(data["model"]).config_cls, data)


def resolve(model: str = "", preset_name: str = "", config_file: str = "",
            overrides: list[str] | None = None, **fields) -> configs.Config:
    """The config of a run: a preset (or config file, or the family's default preset), then the
    named fields that are not None (flags such as dataset, steps, batch_size, seed), then `--set`."""
    if sum(bool(s) for s in (preset_name, config_file)) > 1:
        raise ValueError("give either --preset or --config, not both")
    if config_file:
        config = config_from_file(config_file)
    elif preset_name:  # `--model=iae --preset=tiny` means iae/tiny
        config = preset(preset_name if "/" in preset_name or not model else f"{family(model).name}/{preset_name}")
    elif model:
        config = preset(f"{family(model).name}/default")
    else:
        raise ValueError(f"name a --model (one of {', '.join(families())}) or a --preset")
    if model and model != config.model:
        raise ValueError(f"--model={model} disagrees with the preset / config, which is for '{config.model}'")
    config = configs.replace(config, **{k: v for k, v in fields.items() if v is not None})
    config = configs.apply_overrides(config, overrides or [])
    from zoo import data  # late import: data pulls in tensorflow-datasets

    configs.check_choice("dataset", config.dataset, data.DATASETS, "known datasets")
    config.validate()
    return config


def build_model(config: configs.Config, spec):
    """Instantiates the family's keras.Model for a resolved config and a zoo.data.DatasetSpec."""
    return family(config.model).model_cls(config, spec)
