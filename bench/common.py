"""What the bench scripts share: where things are, the machine, recall of gold evidence."""

from __future__ import annotations

import json
import os
import platform
import re
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
K = 4  # recall@4, the chat's top_k


def recall(rows: list[dict]) -> float | None:
    """Mean share of each answerable question's evidence sentences found in the top K."""
    scored = [r["found"] / r["evidence"] for r in rows if r["evidence"]]
    return sum(scored) / len(scored) if scored else None


def retrieval_row(item: dict, texts: list[str], ms: float) -> dict:
    from bot.evaluate import UNANSWERABLE, _evidence_list, evidence_found

    evidence = [] if item["answer"] == UNANSWERABLE else _evidence_list(item)
    return {
        "id": item.get("id"),
        "ms": ms,
        "evidence": len(evidence),
        "found": evidence_found(evidence, texts[:K]),
    }


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    return (
        f"{platform.machine()} {cpu}".strip() + f", {os.cpu_count()} cores{mem}, no GPU, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def stored_chunk_texts(store, settings) -> list[str]:
    """What the encoder read for each chunk of a store: its title and text."""
    from ingest.chunking import embedding_text
    from ingest.store import open_store

    with open_store(store, settings) as db:
        return [
            embedding_text(m.get("title", ""), doc)
            for _, m, doc in db.chunk_records(documents=True)
        ]


def ask_v1(url: str, question: str, timeout: float = 600) -> dict:
    """One question to a running app's OpenAI-compatible API; its JSON reply."""
    body = json.dumps({"messages": [{"role": "user", "content": question}]}).encode()
    request = urllib.request.Request(
        url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return json.loads(r.read())
