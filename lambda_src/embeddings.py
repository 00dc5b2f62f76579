"""256-dimension text embeddings: Bedrock Titan Text Embeddings V2, or feature hashing.

Titan is used when Bedrock answers; when it is not configured (EMBEDDING_MODEL_ID="none") or
not reachable, a deterministic feature-hashing embedding is used instead. A document records
which model embedded it; a question is embedded with the same model before comparing.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time

import clients
from config import BEDROCK_EMBED_TIMEOUTS, BEDROCK_RETRY_AFTER, EMBED_BUDGET, EMBEDDING_DIMENSIONS

logger = logging.getLogger("tars")
HASHING = "feature-hashing-v1"
_TOKEN = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_STOP = frozenset("a an and are as at be by for from has have how i in is it of on or that the this to "
                  "was were what when where which why with any there last".split())
_bedrock_down_until = 0.0


class EmbeddingUnavailable(Exception):
    pass


def _features(text: str) -> list[str]:
    words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOP]
    feats = list(words)
    for w in words:  # split compound names too: payment-service → payment, service
        parts = re.split(r"[-_]", w)
        if len(parts) > 1:
            feats += parts
    feats += [f"{a} {b}" for a, b in zip(words, words[1:])]
    return feats


def hashing_embedding(text: str, dims: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """Signed feature hashing of words and word pairs, sublinear tf, L2-normalised."""
    counts: dict[str, int] = {}
    for f in _features(text):
        counts[f] = counts.get(f, 0) + 1
    vec = [0.0] * dims
    for feat, n in counts.items():
        digest = hashlib.blake2b(feat.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "big") % dims
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[index] += sign * (1.0 + math.log(n))
    return _unit(vec)


def _unit(vec: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vec))
    return [round(v / norm, 6) for v in vec] if norm else vec


def titan_embedding(text: str, model_id: str) -> list[float]:
    global _bedrock_down_until
    if not model_id or model_id.lower() == "none":
        raise EmbeddingUnavailable("embedding model not configured")
    if time.monotonic() < _bedrock_down_until:
        raise EmbeddingUnavailable("Bedrock failed recently")
    try:
        bedrock = clients.client("bedrock-runtime", BEDROCK_EMBED_TIMEOUTS)
        resp = bedrock.invoke_model(modelId=model_id, contentType="application/json", accept="application/json",
                                    body=json.dumps({"inputText": text[:30000], "dimensions": EMBEDDING_DIMENSIONS,
                                                     "normalize": True}))
        vec = json.loads(resp["body"].read())["embedding"]
        if len(vec) != EMBEDDING_DIMENSIONS:
            raise ValueError(f"got {len(vec)} dimensions")
        return [round(float(v), 6) for v in vec]
    except Exception as err:  # noqa: BLE001 - any failure means: use the fallback
        _bedrock_down_until = time.monotonic() + BEDROCK_RETRY_AFTER
        raise EmbeddingUnavailable(f"{type(err).__name__}: {str(err)[:200]}") from None


def embed_all(texts: list[str], model_id: str, budget_s: float = EMBED_BUDGET) -> tuple[list[list[float]], str]:
    """Embed every text with one model: Titan if it answers for all in time, else feature hashing."""
    deadline = time.monotonic() + budget_s
    try:
        vectors = []
        for text in texts:
            if time.monotonic() > deadline:
                raise EmbeddingUnavailable(f"Titan took longer than {budget_s:.0f} s for {len(texts)} chunks")
            vectors.append(titan_embedding(text, model_id))
        return vectors, model_id
    except EmbeddingUnavailable as err:
        logger.warning("Titan embeddings unavailable, using %s: %s", HASHING, err)
        return [hashing_embedding(t) for t in texts], HASHING


def embed(text: str, model: str) -> list[float] | None:
    """The embedding of a question in ``model``'s space (None if that model is unavailable)."""
    if model == HASHING:
        return hashing_embedding(text)
    try:
        return titan_embedding(text, model)
    except EmbeddingUnavailable:
        return None


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def reset() -> None:
    global _bedrock_down_until
    _bedrock_down_until = 0.0
