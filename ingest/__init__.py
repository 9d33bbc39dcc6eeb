"""Ingest: files -> articles -> sentence-whole chunks -> embeddings -> the Chroma store."""

from .errors import IngestError, StoreMismatchError
from .loaders import Article, load_file
from .pipeline import ingest_paths
from .report import Failure, IngestReport
from .settings import Settings, get_settings

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
