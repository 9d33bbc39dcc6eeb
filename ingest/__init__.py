"""Ingest: files -> articles -> sentence-whole chunks -> embeddings -> the Chroma store."""

from .offline import offline_environment

offline_environment()  # first: before any module below imports a library that reads it

from .errors import IngestError, StoreMismatchError  # noqa: E402
from .loaders import Article, load_file  # noqa: E402
from .pipeline import ingest_paths  # noqa: E402
from .report import Failure, IngestReport  # noqa: E402
from .settings import Settings, get_settings  # noqa: E402

__all__ = [
    "Article",
    "Failure",
    "IngestError",
    "IngestReport",
    "Settings",
    "StoreMismatchError",
    "get_settings",
    "ingest_paths",
    "load_file",
]
