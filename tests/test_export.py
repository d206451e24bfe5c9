"""Export for every registered family: the SavedModel a fresh process loads with TensorFlow alone
gives the in-memory model's outputs for the same inputs and seed; saved_model_cli lists every
endpoint; bad requests get TensorFlow's signature errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from zoo import data, registry, training
from zoo.export import client, saved_model

TINY = [name for name in registry.presets() if name.split("/")[1].startswith("tiny")]

# Runs in a fresh process: TensorFlow only, no zoo. Arguments: pairs of (SavedModel, expected .npz).
LOAD_AND_COMPARE = """
import json, sys
import numpy as np
import tensorflow as tf

for model_dir, expected_file in zip(sys.argv[1::2], sys.argv[2::2]):
    expected = np.load(expected_file)
    model = tf.saved_model.load(model_dir)
    worst = {}
    for key in expected.files:
        if not key.startswith("out:"):
            continue
        _, endpoint, output = key.split(":")
        inputs = {k.split(":")[2]: tf.constant(expected[k]) for k in expected.files if k.startswith(f"in:{endpoint}:")}
        got = model.signatures[endpoint](**inputs)[output].numpy()
        worst[f"{endpoint}.{output}"] = float(np.max(np.abs(got - expected[key])))
    print(json.dumps([sorted(model.signatures), worst]))
assert "zoo" not in sys.modules
"""


def example_inputs(model, config):
    images = next(iter(data.load(config.dataset, "validation", batch_size=5)))["image"].numpy()
    rng = np.random.default_rng(0)
    inputs = {}
    for name, spec in model.serving_specs().items():
        if name == "images":
            inputs[name] = images
        elif name == "seed":
            inputs[name] = np.array([3, 4], np.int32)
        elif spec.shape.rank == 0:
            inputs[name] = np.array(5, spec.dtype.as_numpy_dtype)
        else:
            shape = [5 if d is None else d for d in spec.shape]
            inputs[name] = rng.normal(size=shape).astype(spec.dtype.as_numpy_dtype)
    return inputs


@pytest.fixture(scope="module", params=registry.families())
def exported(request, tmp_path_factory, tiny_run):
    """A family's tiny presets, one per distinct set of endpoints (e.g. the AAE with and without
    `classify`), each trained a few steps and exported: [(config, model, path)]. The models are
    built here, when the tests run, not while they are collected."""
    chosen = {}
    for name in TINY:
        config = registry.resolve(preset_name=name)
        if config.model == request.param:
            workdir, _ = tiny_run(name)
            _, _, model = training.restore(str(workdir))
            chosen.setdefault(tuple(sorted(model.endpoints())), (config, model, str(workdir)))
    assert chosen, f"{request.param} has no tiny preset"
    return [(config, model, saved_model.export(workdir, str(tmp_path_factory.mktemp("exported"))))
            for config, model, workdir in chosen.values()]


def test_layout_tf_serving_accepts(exported):
    for config, model, path in exported:
        base, version = os.path.split(path)
        assert version == "1" and os.path.basename(base) == config.model
        assert os.path.exists(os.path.join(path, "saved_model.pb"))
        extra = os.path.join(path, "assets.extra")
        assert json.load(open(os.path.join(extra, "config.json")))["model"] == config.model
        normalization = json.load(open(os.path.join(extra, "normalization.json")))
        assert normalization["image_shape"] == list(model.spec.image_shape)


def test_fresh_tensorflow_process_reproduces_the_model(exported, tmp_path):
    arguments, expected_outputs = [], []
    for i, (config, model, path) in enumerate(exported):
        inputs = example_inputs(model, config)
        arrays = {}
        for endpoint, (function, names) in model.endpoints().items():
            outputs = function(*[inputs[name] for name in names])
            arrays.update({f"in:{endpoint}:{name}": inputs[name] for name in names})
            arrays.update({f"out:{endpoint}:{key}": np.asarray(value) for key, value in outputs.items()})
        np.savez(tmp_path / f"expected{i}.npz", **arrays)
        arguments += [path, f"expected{i}.npz"]
        expected_outputs.append({k[4:].replace(":", ".") for k in arrays if k.startswith("out:")})
    (tmp_path / "load.py").write_text(LOAD_AND_COMPARE)
    result = subprocess.run([sys.executable, "load.py", *arguments], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads(line) for line in result.stdout.strip().splitlines()[-len(exported):]]
    for (_, model, _), outputs, (signatures, worst) in zip(exported, expected_outputs, reports):
        assert set(model.endpoints()) <= set(signatures)
        assert set(worst) == outputs
        assert max(worst.values()) < 1e-5, worst


def test_saved_model_cli_lists_every_endpoint(tiny_run, tmp_path):
    """The command-line tool itself, on one preset (every preset's signatures are listed by the fresh
    process above: the tool's start-up costs seconds per call)."""
    workdir, _ = tiny_run("aae/tiny_clustering")
    path = saved_model.export(str(workdir), str(tmp_path))
    _, _, model = training.restore(str(workdir))
    result = subprocess.run(["saved_model_cli", "show", "--all", "--dir", path],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for endpoint in model.endpoints():
        assert f"signature_def['{endpoint}']" in result.stdout


def _seeded_request(model):
    """A random endpoint ("sample", else "reconstruct": both draw noise in every tiny preset) and a
    valid value for its other inputs, as JSON-style lists: 3 outputs per request."""
    endpoints = model.endpoints()
    name = "sample" if "sample" in endpoints else "reconstruct"
    specs = model.serving_specs()
    others = {"n": 3, **{key: np.zeros([3, *specs[key].shape[1:]]).tolist() for key in ("images", "code")
                         if key in specs}}
    return name, {key: others[key] for key in endpoints[name][1] if key != "seed"}


def test_seed_reproduces_and_empty_seed_draws_fresh(exported):
    import tensorflow as tf

    for _, model, path in exported:
        endpoint, others = _seeded_request(model)
        loaded = tf.saved_model.load(path)

        def draw(seed, model=loaded, path=path, endpoint=endpoint, others=others):
            return client.predict(path, {"signature_name": endpoint, "inputs": {**others, "seed": seed}}, model)
        first, again = draw([7, 8]), draw([7, 8], None)  # None: loaded anew
        assert first == again and np.array(next(iter(first["outputs"].values()))).shape[0] == 3
        assert draw([]) != draw([])
        assert draw([]) != draw([], None)


def _images_endpoint(model):
    """An endpoint that takes images, and a valid value for each of its other inputs."""
    name, (_, inputs) = next((n, e) for n, e in model.endpoints().items() if "images" in e[1])
    return name, {key: [1, 2] for key in inputs if key != "images"}


@pytest.mark.parametrize("case,message", [
    ("wrong_shape", "signature takes"),
    ("float_for_int", "is int32"),
    ("seed_of_three", "seed must have 0 or 2 elements"),
    ("missing_input", "takes inputs"),
    ("unknown_signature", "not found"),
])
def test_bad_requests_get_an_error_not_a_crash(exported, case, message):
    for _, model, path in exported:
        endpoint, others = _images_endpoint(model)
        seeded, seeded_others = _seeded_request(model)
        request_body = {
            "wrong_shape": {"signature_name": endpoint, "inputs": {"images": [[[[0.5]]]], **others}},
            "float_for_int": {"signature_name": seeded, "inputs": {**seeded_others, "seed": [1.5, 2.5]}},
            "seed_of_three": {"signature_name": seeded, "inputs": {**seeded_others, "seed": [1, 2, 3]}},
            "missing_input": {"signature_name": seeded, "inputs": seeded_others},
            "unknown_signature": {"signature_name": "nope", "inputs": {}},
        }[case]
        response = client.predict(path, request_body)
        assert message in response["error"], (model.config.model, case)


def test_wrong_shape_is_named_by_the_saved_model_itself(exported):
    """Without the client's checks (as under TF Serving), the endpoint still names the input."""
    import tensorflow as tf

    for _, model, path in exported:
        loaded = tf.saved_model.load(path)
        endpoint, others = _images_endpoint(model)
        images = np.zeros([2, *model.spec.image_shape[:-1], model.spec.image_shape[-1] + 1], np.float32)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Shape of tensor images"):
            loaded.signatures[endpoint](images=tf.constant(images), **{k: tf.constant(v) for k, v in others.items()})
