"""Partnerbot runs with no network but the package registries: no code path may reach for a
model hub or send telemetry. `offline_environment` sets the variables the libraries read
(Hugging Face, transformers, Chroma, Gradio, tokenizers) unless the caller set them; the
`ingest` package calls it once, first, so it holds before any of those libraries is imported.
"""

from __future__ import annotations

import os

OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # a stray hub lookup fails at once instead of waiting
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def offline_environment() -> None:
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
