"""Call an exported zoo SavedModel locally the way TF Serving's REST API is called, with only
TensorFlow installed:

    python -m zoo.export.client --model_dir=exported/aae/1 \\
        --request='{"signature_name": "sample", "inputs": {"n": 4, "seed": [1, 2]}}'

The request body is the one `POST /v1/models/<name>:predict` takes (columnar "inputs" form); the
answer is TF Serving's too: {"outputs": {...}} or, for a bad request, {"error": "..."}.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import tensorflow as tf


def predict(model_dir: str, request: dict, model=None) -> dict:
    """Runs one REST-style predict request against a SavedModel directory (or an already loaded
    `model`). Inputs are converted to the signature's dtypes as TF Serving converts JSON; a request
    that does not fit the signature gives {"error": ...}, never an exception."""
    model = model or tf.saved_model.load(model_dir)
    name = request.get("signature_name", "serving_default")
    if name not in model.signatures:
        return {"error": f"signature '{name}' not found; the model has: {', '.join(sorted(model.signatures))}"}
    signature = model.signatures[name]
    specs = signature.structured_input_signature[1]
    inputs = request.get("inputs", {})
    if sorted(inputs) != sorted(specs):
        return {"error": f"signature '{name}' takes inputs {sorted(specs)}, the request gave {sorted(inputs)}"}
    try:
        tensors = {key: _tensor(np.asarray(value), specs[key]) for key, value in inputs.items()}
        outputs = signature(**tensors)
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
        return {"error": getattr(error, "message", None) or str(error)}
    return {"outputs": {key: value.numpy().tolist() for key, value in outputs.items()}}


def _tensor(value: np.ndarray, spec: tf.TensorSpec) -> tf.Tensor:
    if value.size and value.dtype.kind == "f" and not spec.dtype.is_floating:
        raise TypeError(f"input '{spec.name}' is {spec.dtype.name}; the request gave floating-point values")
    tensor = tf.constant(value.astype(spec.dtype.as_numpy_dtype))
    if not spec.shape.is_compatible_with(tensor.shape):
        raise ValueError(f"input '{spec.name}' has shape {tensor.shape}; the signature takes {spec.shape}")
    return tensor


def main(argv):
    args = dict(arg.lstrip("-").split("=", 1) for arg in argv[1:])
    response = predict(args["model_dir"], json.loads(args["request"]))
    print(json.dumps(response))
    return 1 if "error" in response else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
