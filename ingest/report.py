"""What an ingest run reports: counts by outcome and every input that failed, with why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Failure:
    source: str
    reason: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[Failure] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)
