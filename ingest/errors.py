"""Typed errors of the ingest library; only the CLI turns them into messages and exit codes."""


class IngestError(Exception):
    """One document could not be ingested. `source` names it, `reason` says why."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreMismatchError(Exception):
    """The store was built with another embedding model or chunking than the current settings."""


class StoreUnavailableError(Exception):
    """The Chroma server named by PARTNERBOT_CHROMA_URL does not answer."""
