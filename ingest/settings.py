"""The one settings object for Partnerbot: every knob, read from `PARTNERBOT_*` variables.

It lives in `ingest` because ingest is the bottom of the one-way flow
(files -> ingest -> Chroma -> bot -> UI/CLI/API): everything above may read it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "partnerbot"


def _default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "partnerbot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNERBOT_", extra="ignore")

    store: Path = Field(
        default_factory=lambda: _default_home() / "store",
        description="Directory of the persistent Chroma store.",
    )
    collection: str = Field("partnerbot", description="Chroma collection name.")
    chroma_url: str | None = Field(
        None, description="Use this Chroma server (http://host:port) instead of the embedded store."
    )

    fetch_timeout: float = Field(20.0, gt=0, description="Seconds to wait for a URL or feed.")
    fetch_private: bool = Field(
        False,
        description="Allow fetching loopback, private and "
        "link-local addresses (off: a pasted URL cannot reach the "
        "server's own network).",
    )
    parse_memory_mb: float = Field(
        2048.0,
        ge=256,
        description="Address space of the child process that parses files and pages.",
    )
    parse_seconds: float = Field(
        60.0,
        gt=0,
        description="CPU and wall-clock seconds one file "
        "or page may take to parse (URLs: plus the fetch timeout).",
    )
    max_file_mb: float = Field(20.0, gt=0, description="Larger files and downloads are refused.")
    ingest_batch: int = Field(
        512,
        ge=1,
        description="Chunks embedded and written together: "
        "larger batches sort by length better (less padding).",
    )
    max_doc_chars: int = Field(
        2_000_000,
        gt=0,
        description="Longer documents are refused (about 300,000 words; no article is that long).",
    )

    embedding_model: Literal["all-MiniLM-L6-v2"] = "all-MiniLM-L6-v2"
    encoder: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description="What runs the embedding model: 'onnx-int8' (ONNX Runtime, int8 weights: "
        "about twice torch's speed, same retrieval recall on the eval set), 'onnx' (fp32, "
        "torch's vectors) or 'torch'. Exported once from the packaged weights into model_dir.",
    )
    chunk_tokens: int = Field(
        200,
        ge=32,
        le=254,
        description="Word-piece budget of one chunk, title included "
        "(the embedding model reads at most 256).",
    )
    sentence_vectors: Literal["separate", "pooled", "late"] = Field(
        "separate",
        description="'separate': chunks and sentences each encoded on their own "
        "(best answers; about twice the encoder work); 'pooled': only "
        "sentences are encoded, a chunk's vector is pooled from its "
        "sentences' token states (about 2x faster ingest; fewer dev "
        "questions found, as many generated ones); 'late': only chunks "
        "are encoded, sentence vectors pooled from the chunk's pass.",
    )

    backend: Literal["local", "openai", "ollama", "extractive"] = Field(
        "local",
        description="'local' answers with the packaged LLM in this process; 'openai' "
        "with any OpenAI-compatible server (vLLM, llama.cpp server, ...); "
        "'ollama' with an Ollama server; 'extractive' quotes the best "
        "evidence sentence without an LLM.",
    )
    openai_base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="Base URL of the OpenAI-compatible server."
    )
    openai_model: str | None = Field(
        None, description="Model name on that server (default: the first model the server lists)."
    )
    openai_api_key: str | None = Field(
        None, description="API key (default: OPENAI_API_KEY, or none for local servers)."
    )
    ollama_url: str = Field("http://127.0.0.1:11434", description="Ollama server address.")
    ollama_model: str = Field("qwen2.5:1.5b-instruct", description="Ollama model name.")
    llm_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds to wait for a model server's reply (connecting gives up after 5).",
    )
    llm_model: Literal["qwen2.5-coder-1.5b-instruct"] = "qwen2.5-coder-1.5b-instruct"
    model_dir: Path = Field(
        default_factory=lambda: _default_cache() / "models",
        description="Where the packaged GGUF parts are joined into one file.",
    )
    llm_threads: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 2, 8)))
    llm_context: int = 4096
    max_answer_tokens: int = 256  # one to three short sentences with their markers

    top_k: int = Field(4, ge=1, le=20, description="Chunks given to the answer step.")
    context_tokens: int = Field(
        400,
        ge=0,
        description="Token budget of the passage text the model reads: the best "
        "sentences of the retrieved chunks, in article order (each "
        "prompt token costs 15-25 ms on 2 cores); 0 gives the chunks "
        "whole.",
    )
    second_look: Literal["forced", "focused", "off"] = Field(
        "forced",
        description="When the model says the sentences do not answer, or its answer fails "
        "the checks: 'forced' asks it once more over twice the sentence budget without leave "
        "to refuse (the answer stands only if it passes every check and the model, shown only "
        "the cited sentences, confirms it); 'focused' asks again with the three best "
        "sentences; 'off' keeps the first decline. 'true' and 'false' mean 'forced' and 'off'.",
    )

    @field_validator("second_look", mode="before")
    @classmethod
    def _second_look_as_bool(cls, value):
        if isinstance(value, bool) or str(value).lower() in ("true", "false", "1", "0"):
            return "forced" if str(value).lower() in ("true", "1") else "off"
        return value

    answer_parts: Literal["each", "together"] = Field(
        "together",
        description="A question asking two things ('when did Finland apply, and when did "
        "it join?'): 'together' asks the model once, over sentences found for each part; "
        "'each' answers every part on its own (its own search, the later parts as "
        "follow-ups of the earlier; up to three model calls per part: with the packaged "
        "model it left more parts unanswered, see docs/evaluation.md).",
    )
    confirm: Literal["all", "forced", "off"] = Field(
        "forced",
        description="Which answers the model is asked to confirm, shown only the cited "
        "sentences, the question and the answer ('Yes' keeps it, anything else declines): "
        "'forced' those of a forced second look and those that only quote sentences, 'all' "
        "every answer (about 1 s more each), 'off' none.",
    )
    coverage_gate: bool = Field(
        True,
        description="Decline without asking the model when no retrieved article names a "
        "place or number of the question (a capital, demonym or region counts "
        "for its country).",
    )
    extractive_min_score: float = Field(
        0.6,
        description="Extractive mode abstains below this sentence score "
        "(cosine to the question + half the share of question words it holds).",
    )

    port: int = Field(default_factory=lambda: int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    uploads: Path = Field(
        default_factory=lambda: _default_home() / "uploads",
        description="Where the web app keeps the files users add.",
    )
    feedback_db: Path = Field(
        default_factory=lambda: _default_home() / "feedback.sqlite",
        description="SQLite file of the web chat's thumbs up/down.",
    )
    queue_size: int = Field(
        32, ge=1, description="Questions the web app lets wait; more get a busy message."
    )
    workers: int = Field(
        2,
        ge=1,
        description="Questions the web app answers at once (the "
        "in-process model still takes one at a time).",
    )
    max_question_chars: int = Field(2000, ge=1, description="Longer questions are refused.")
    accounts_db: Path = Field(
        default_factory=lambda: _default_home() / "accounts.sqlite",
        description="Users, roles and API keys (partnerbot users ...); "
        "logins are on when it holds a user.",
    )
    rate_per_minute: int = Field(
        30,
        ge=0,
        description="Questions one user may ask in a minute when logins are on (0: no limit).",
    )
    upload_quota_mb: float = Field(
        200.0, gt=0, description="Space one user's uploads may take in PARTNERBOT_UPLOADS."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
