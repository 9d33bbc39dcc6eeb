"""Does the model's own refusal tell answerable from unanswerable questions?

    partnerbot eval QUESTIONS.jsonl --corpus ../shared/corpus/partnerships --out answers.jsonl
    python -m bench.refusal_signal answers.jsonl

For every answer the model declined (`cause` "model"), the prompt it was given (the recorded
numbered sentences and the question; a follow-up's earlier turns are not recorded, so they
are left out) is given to the packaged model again for one token, and the probability that
the reply starts with NOT IN SOURCES is printed beside the question's kind. If answerable
questions it refused had clearly lower probabilities than unanswerable ones, a threshold
could overrule the refusal; the summary line gives both groups' values.

    python -m bench.refusal_signal answers.jsonl --forced

asks the other question: had the model not been allowed to refuse, would it have been right?
Every question but a follow-up is given its recorded prompt again with the system prompt's
last line (the permission to reply NOT IN SOURCES) left out; the forced reply is graded with
the eval's lexical check (a hint: read the printed replies) and its mean and lowest token
log-probability printed. The summary gives, for right, wrong and unanswerable questions,
the medians of both (can the model's confidence tell them apart?), and how many of the
answerable questions the product declined the forced reply got right.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from statistics import median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", type=Path, help="the --out file of `partnerbot eval`")
    parser.add_argument("--forced", action="store_true", help="answer without leave to refuse")
    args = parser.parse_args()

    from llama_cpp import Llama

    from bot.chatbot import NOT_IN_SOURCES, SYSTEM_PROMPT
    from bot.model_file import ensure_model_file
    from ingest.settings import get_settings

    settings = get_settings()
    path = ensure_model_file(settings.llm_model, settings.model_dir)
    # logits_all: per-token probabilities (the app's instance is loaded without them)
    llama = Llama(
        model_path=str(path),
        n_ctx=settings.llm_context,
        n_threads=settings.llm_threads,
        n_batch=512,
        verbose=False,
        logits_all=True,
    )
    if args.forced:
        _forced(llama, args.answers)
        return
    first = NOT_IN_SOURCES.split()[0]
    groups: dict[bool, list[float]] = {True: [], False: []}
    for line in args.answers.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("cause") != "model":
            continue
        question = row["question"]
        out = _ask(llama, SYSTEM_PROMPT, row, max_tokens=1, top_logprobs=10)
        top = out["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        p = sum(math.exp(t["logprob"]) for t in top if t["token"].strip().upper() == first)
        answerable = row.get("kind") != "unanswerable"
        groups[answerable].append(p)
        print(f"{row['id']:8} {row.get('kind', '?'):13} P(refusal) {p:.2f}  {question[:70]}")
    for answerable, values in groups.items():
        if values:
            print(
                f"{'answerable' if answerable else 'unanswerable'}: n={len(values)} "
                f"min {min(values):.2f} median {median(values):.2f} max {max(values):.2f}"
            )


def _ask(llama, system: str, row: dict, max_tokens: int, top_logprobs: int) -> dict:
    """The recorded prompt of an eval answer (`row`), asked again under `system`, greedy,
    with token log-probabilities."""
    from bot.chatbot import HUMAN_PROMPT, _note
    from bot.coverage import spelled_out

    human = HUMAN_PROMPT.format(
        passages=row["context"],
        conversation="",
        question=row["question"],
        note=_note(spelled_out(row["question"])),
    )
    return llama.create_chat_completion(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": human}],
        max_tokens=max_tokens,
        temperature=0.0,
        logprobs=True,
        top_logprobs=top_logprobs,
    )


def _forced(llama, answers: Path) -> None:
    from bot.chatbot import FORCED_SYSTEM_PROMPT, NOT_IN_SOURCES
    from bot.evaluate import answer_correct

    assert NOT_IN_SOURCES not in FORCED_SYSTEM_PROMPT, "the forced prompt still offers refusal"
    rows = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    confidence: dict[str, list[tuple[float, float]]] = {"right": [], "wrong": [], "unans.": []}
    declined_right = declined = 0
    for row in rows:
        if row.get("kind") == "follow-up" or not row.get("context"):
            continue
        # top_logprobs=1: llama-cpp-python gives no per-token log-probs without it
        out = _ask(llama, FORCED_SYSTEM_PROMPT, row, max_tokens=120, top_logprobs=1)
        choice = out["choices"][0]
        reply = choice["message"]["content"] or ""
        # the answer's own tokens: citation markers are bookkeeping
        lps = [
            float(t["logprob"])
            for t in choice["logprobs"]["content"]
            if not t["token"].strip().startswith("[")
        ] or [0.0]
        if row.get("kind") == "unanswerable":
            label = "unans."
        else:
            label = "right" if answer_correct(reply, row["gold"]) else "wrong"
            if row.get("abstained"):
                declined += 1
                declined_right += label == "right"
        mean, low = sum(lps) / len(lps), min(lps)
        confidence[label].append((mean, low))
        was = "declined" if row.get("abstained") else "answered"
        print(f"{row['id']:8} {label:6} {was:8} mean {mean:6.2f} min {low:6.2f}  {reply[:90]!r}")
    for label, values in confidence.items():
        if values:
            print(
                f"{label}: n={len(values)} median mean log-prob "
                f"{median(v[0] for v in values):.2f}, median lowest {median(v[1] for v in values):.2f}"
            )
    print(
        f"answerable questions the product declined: {declined}, forced reply right: {declined_right}"
    )


if __name__ == "__main__":
    main()
