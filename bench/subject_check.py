"""How often the wrong-country check (`bot.subjects`) would decline a right answer.

    python -m bench.subject_check QUESTIONS.jsonl      # the file `bench.retrieval_modes --make` writes

Every question in the file was written by the packaged LLM about one corpus sentence, so that
sentence answers it. The partnerships corpus is ingested into a temporary store; for each
question whose evidence sentence is inside a retrieved chunk, the check is run with that
sentence as the answer's backing. Each decline is printed, then the count: any decline here
is a right answer the check would have thrown away.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.retrieval_modes import PARTNERSHIPS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    args = parser.parse_args()

    from bot import ChatBot
    from bot.evidence import Sentence
    from bot.subjects import substituted_subject
    from ingest import ingest_paths

    rows = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="partnerbot-bench-") as store:
        ingest_paths([PARTNERSHIPS], store=store)
        bot = ChatBot(store=store, backend="extractive")
        checked = declined = 0
        for row in rows:
            passages = bot.retriever.search([row["question"]], bot.settings.top_k)
            found = [
                (i, p.text.index(row["evidence"]))
                for i, p in enumerate(passages)
                if row["evidence"] in p.text
            ]
            if not found:
                continue
            checked += 1
            i, start = found[0]
            backing = Sentence(i, start, start + len(row["evidence"]), row["evidence"])
            substitution = substituted_subject(row["question"], [backing], passages)
            if substitution:
                declined += 1
                print(f"declined: {row['question']} ({substitution.describe()})")
        print(
            f"{checked} questions with their evidence retrieved; the country check "
            f"declined {declined}"
        )


if __name__ == "__main__":
    main()
