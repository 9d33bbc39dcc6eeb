"""The layout of the records in the store, in one place: how ids are made and how a chunk's
metadata is encoded by the writer (`ingest.pipeline`) and decoded by the reader
(`bot.retrieval`).

* a chunk's id is a hash of its document version (`doc_hash`) and its index;
* sentence `j` of a chunk (the j-th of `indexed_sentences`) is the record `<chunk id>:<j>`;
* `date_num` is the document date as yyyymmdd (0: undated), for range filters;
* `page` is the page a chunk starts on and `page_breaks` the offsets, relative to the
  chunk, where later pages begin ("120,877").
"""

from __future__ import annotations

import hashlib

from .text import sentence_spans

MIN_SENTENCE_WORDS = 3  # bullets and bylines ("• |", "13 Jul. 2021 -") are not evidence


def chunk_id(doc_hash: str, index: int) -> str:
    return hashlib.sha256(f"{doc_hash}:{index}".encode()).hexdigest()[:32]


def sentence_id(chunk: str, j: int) -> str:
    """The record id of sentence `j` (of `indexed_sentences`) of a chunk."""
    return f"{chunk}:{j}"


def chunk_of(sentence_record: str) -> str:
    """The chunk id a sentence record id (`sentence_id`) belongs to."""
    return split_sentence_id(sentence_record)[0]


def split_sentence_id(sentence_record: str) -> tuple[str, int]:
    """(chunk id, j) of a sentence record id: the inverse of `sentence_id`."""
    chunk, j = sentence_record.rsplit(":", 1)
    return chunk, int(j)


def indexed_sentences(chunk_text: str) -> list[tuple[int, int]]:
    """Offsets (within the chunk) of the sentences that get their own vector; the j-th is
    stored as `sentence_id(chunk, j)`."""
    return [
        (s, e)
        for s, e in sentence_spans(chunk_text)
        if len(chunk_text[s:e].split()) >= MIN_SENTENCE_WORDS
    ]


def date_number(iso: str | None) -> int:
    """An ISO date as the yyyymmdd number stored in `date_num` (0: undated)."""
    return int(iso.replace("-", "")) if iso else 0


def page_fields(pages: tuple[int, ...], start: int, end: int) -> dict[str, int | str]:
    """`page` and `page_breaks` of a chunk at [start, end) of a document whose pages begin
    at the offsets `pages`; nothing for a document without pages."""
    if not pages:
        return {}
    page = 0
    for i, begins in enumerate(pages):
        if begins <= start:
            page = i + 1
    fields: dict[str, int | str] = {"page": page}
    breaks = [str(b - start) for b in pages if start < b < end]
    if breaks:
        fields["page_breaks"] = ",".join(breaks)
    return fields


def page_breaks(meta: dict) -> tuple[int, ...]:
    """The `page_breaks` of a chunk's metadata, as offsets within the chunk."""
    return tuple(int(b) for b in str(meta.get("page_breaks") or "").split(",") if b)
