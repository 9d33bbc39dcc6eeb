"""`partnerbot eval`: measure retrieval, answers, citations, abstention and latency on a question set.

Question file: JSON lines with `question`, `answer` (`NOT IN CORPUS` when unanswerable), `kind`,
`evidence` (a sentence, a list of sentences, or null) and optional `history` (earlier user
questions, replayed through the bot first so follow-ups see real earlier answers).

Metrics (all lexical, stated so they can be checked by hand):

* evidence recall@k: share of gold evidence sentences that appear, whitespace-normalised, inside
  one of the k passages retrieved for the question (answerable questions only);
* answer correctness: an answer counts as correct when it is not an abstention, contains every
  number of the gold answer (in digits or words), and contains at least 60% of the gold
  answer's other content words (lower-cased, stop words and hedges such as "almost" removed,
  light plural stemming, "%" read as "percent"; parenthesised asides in the gold answer are
  optional). A lexical hint, not a verdict: the README's figures are read by hand too;
* citation precision: share of shown citations whose quote contains a gold evidence sentence, is
  contained in one, or contains at least half of the gold answer's content words;
* evidence in prompt (LLM backends): share of gold evidence sentences that appear,
  whitespace-normalised, in the passage text the model was given (the retrieved chunks cut
  to their best sentences within the prompt budget); a question that never reached the model
  counts as not given;
* abstention: share of unanswerable questions declined, and share of answerable ones wrongly
  declined (false abstention), each such refusal listed with its cause: the bot's own
  (`bot.answers.CAUSES`: gate, model, verifier, country, coverage, ...), or "no evidence
  retrieved" when none of the gold evidence was among the retrieved chunks;
* wrong answers: share of answerable questions answered (not declined) but not correct;
* latency: wall time per question, p50 and p95;
* quotes outside chunks: citations whose quote is not, whitespace-normalised, inside a chunk of
  the same article retrieved for that turn (must be 0: such a citation should never be shown).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import strip_inline_tags

from .context import undated
from .terms import content_terms, numbers_in

UNANSWERABLE = "NOT IN CORPUS"


def _norm(text: str) -> str:
    """Text compared as a reader would: quotes, spacing, case, and inline tags a gold
    sentence copied from the raw file may keep ("31<sup>st</sup>" is "31st" once loaded)."""
    text = strip_inline_tags(text).replace("’", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split()).lower()


def evidence_found(evidence: list[str], texts: list[str]) -> int:
    """How many of the gold evidence sentences lie inside one of `texts` (retrieved chunks)."""
    texts = [_norm(t) for t in texts]
    return sum(any(_norm(ev) in t for t in texts) for ev in evidence)


def evidence_in_prompt(evidence: list[str], context: str) -> int:
    """How many of the gold evidence sentences the model read (`context`: its sentences)."""
    shown = _norm(undated(context))
    return sum(_norm(ev) in shown for ev in evidence)


def history_of(bot, item: dict) -> list[tuple[str, str]]:
    """An eval item's earlier turns, each answered by `bot` in turn."""
    history: list[tuple[str, str]] = []
    for earlier in item.get("history") or []:
        history.append((earlier, bot.ask(earlier, history=history).text))
    return history


def _evidence_list(item: dict) -> list[str]:
    ev = item.get("evidence")
    if not ev:
        return []
    return [ev] if isinstance(ev, str) else list(ev)


_NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve twenty thirty forty "
    "fifty sixty seventy eighty ninety hundred"
).split()


_HEDGES = {
    "almost",
    "nearly",
    "approximately",
    "roughly",
    "around",
    "about",
    "over",
    "just",
    "some",
    "more",
    "than",
    "least",
}


def answer_correct(answer_text: str, gold: str) -> bool:
    answer_text = answer_text.replace("%", " percent")
    core = re.sub(r"\([^)]*\)", " ", gold).replace("%", " percent")
    nums = numbers_in(core)
    if nums - numbers_in(answer_text):
        return False
    # numbers were compared above, in digits or words; "almost 80%" is answered by "80%"
    # ("Sixteen" is the number 16, answered by "16").
    gold_terms = {t for t in content_terms(core) if not numbers_in(t)} - nums - _HEDGES
    gold_terms -= content_terms(" ".join(_NUMBER_WORDS))
    if not gold_terms:
        return True
    got = content_terms(answer_text)
    return len(gold_terms & got) / len(gold_terms) >= 0.6


def citation_ok(quote: str, evidence: list[str], gold: str) -> bool:
    q = _norm(quote)
    for ev in evidence:
        e = _norm(ev)
        if e in q or q in e:
            return True
    gold_terms = content_terms(re.sub(r"\([^)]*\)", " ", gold))
    return bool(gold_terms) and len(gold_terms & content_terms(quote)) / len(gold_terms) >= 0.5


@dataclass
class Result:
    item: dict
    answer: dict
    evidence_found: int
    evidence_total: int
    correct: bool
    citations_ok: int
    seconds: float
    quotes_outside: int = 0
    in_prompt: int | None = None  # gold evidence sentences in the text the model read
    cause: str | None = None  # why it abstained (see `abstention_cause`)


def quotes_outside_chunks(answer) -> int:
    """Citations of `answer` whose quote is not inside a retrieved chunk of its own article."""
    chunks: dict[str, list[str]] = {}
    for p in answer.passages:
        chunks.setdefault(p.source, []).append(_norm(p.text))
    return sum(
        not any(_norm(c.quote) in text for text in chunks.get(c.source, []))
        for c in answer.citations
    )


def abstention_cause(answer, found: int, total: int) -> str | None:
    """Why an answer abstained: "no evidence retrieved" when the gold evidence was not among
    the retrieved chunks, else the bot's own cause."""
    if not answer.abstained:
        return None
    if total and not found:
        return "no evidence retrieved"
    return answer.cause or "unknown"


class QuestionFileError(ValueError):
    """A question file line that cannot be evaluated; the message names file, line and field."""


def load_questions(path: Path) -> list[dict]:
    """The items of a question file, each checked before anything is ingested or asked: a
    JSON object with a non-empty `question`, an `answer` string (`NOT IN CORPUS` when
    unanswerable), `evidence` a string or list of strings when given, `history` a list of
    strings when given."""
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise QuestionFileError(f"{where}: not JSON ({e.msg})") from None
        if not isinstance(item, dict):
            raise QuestionFileError(f"{where}: not a JSON object")
        for field in ("question", "answer"):
            if not isinstance(item.get(field), str) or not item[field].strip():
                raise QuestionFileError(
                    f"{where}: field {field!r} must be a non-empty string, got "
                    f"{item.get(field)!r}"
                    + (
                        f" (write {UNANSWERABLE!r} for an unanswerable question)"
                        if field == "answer"
                        else ""
                    )
                )
        evidence = item.get("evidence")
        if evidence is not None and not (
            isinstance(evidence, str)
            or (isinstance(evidence, list) and all(isinstance(e, str) for e in evidence))
        ):
            raise QuestionFileError(
                f"{where}: field 'evidence' must be a string or a list of strings"
            )
        history = item.get("history")
        if history is not None and not (
            isinstance(history, list) and all(isinstance(h, str) for h in history)
        ):
            raise QuestionFileError(f"{where}: field 'history' must be a list of strings")
        items.append(item)
    return items


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_eval(
    questions_path: Path,
    corpus: list[Path],
    backend: str | None = None,
    out: Path | None = None,
    log=print,
) -> dict:
    from ingest import ingest_paths

    from .chatbot import ChatBot

    items = load_questions(questions_path)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="partnerbot-eval-") as store:
        report = ingest_paths(corpus, store=store)
        log(
            f"corpus {' + '.join(map(str, corpus))}: {report.added} documents, {report.chunks} chunks, "
            f"{len(report.failed)} failed"
        )
        bot = ChatBot(store=store, backend=backend)
        for item in items:
            history = history_of(bot, item)
            t = time.perf_counter()
            answer = bot.ask(item["question"], history=history)
            seconds = time.perf_counter() - t
            evidence = _evidence_list(item)
            found = evidence_found(evidence, [p.text for p in answer.passages])
            unanswerable = item["answer"] == UNANSWERABLE
            correct = (
                answer.abstained
                if unanswerable
                else (not answer.abstained and answer_correct(answer.text, item["answer"]))
            )
            cited_ok = sum(citation_ok(c.quote, evidence, item["answer"]) for c in answer.citations)
            outside = quotes_outside_chunks(answer)
            in_prompt = (
                None
                if bot.backend == "extractive"
                else evidence_in_prompt(evidence, answer.context)
            )
            cause = abstention_cause(answer, found, len(evidence))
            results.append(
                Result(
                    item,
                    answer.to_dict(),
                    found,
                    len(evidence),
                    correct,
                    cited_ok,
                    seconds,
                    outside,
                    in_prompt,
                    cause,
                )
            )
            mark = "ok " if correct else "BAD"
            given = "" if in_prompt is None else f" prompt {in_prompt}/{len(evidence)}"
            why = f" [{cause}]" if cause else ""
            log(
                f"{mark} {item.get('id', ''):5} {item.get('kind', ''):12} {seconds:6.1f}s  "
                f"evidence {found}/{len(evidence)}{given}{why}  {answer.text[:90]!r}"
            )
            if out:
                with out.open("a", encoding="utf-8") as f:
                    f.write(
                        json.dumps(
                            {
                                "id": item.get("id"),
                                "question": item["question"],
                                "gold": item["answer"],
                                "correct": correct,
                                "seconds": round(seconds, 3),
                                "draft": answer.draft,
                                "quotes_outside_chunks": outside,
                                "cause": cause,
                                "kind": item.get("kind"),
                                "context": answer.context,
                                **answer.to_dict(),
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
    return summarize(results, backend or bot.backend, bot.settings.top_k)


def _summary_of(results: list[Result]) -> dict:
    answerable = [r for r in results if r.item["answer"] != UNANSWERABLE]
    unanswerable = [r for r in results if r.item["answer"] == UNANSWERABLE]
    ev_total = sum(r.evidence_total for r in answerable)
    cites = sum(len(r.answer["citations"]) for r in answerable)
    return {
        "questions": len(results),
        "evidence_recall": (sum(r.evidence_found for r in answerable) / ev_total)
        if ev_total
        else None,
        "evidence_in_prompt": (sum(r.in_prompt or 0 for r in answerable) / ev_total)
        if ev_total and all(r.in_prompt is not None for r in answerable)
        else None,
        "answer_correct": (sum(r.correct for r in answerable) / len(answerable))
        if answerable
        else None,
        "false_abstention": (sum(r.answer["abstained"] for r in answerable) / len(answerable))
        if answerable
        else None,
        "wrong_answer": (
            sum(not r.answer["abstained"] and not r.correct for r in answerable) / len(answerable)
        )
        if answerable
        else None,
        "citation_precision": (sum(r.citations_ok for r in answerable) / cites) if cites else None,
        "abstention_accuracy": (
            sum(r.answer["abstained"] for r in unanswerable) / len(unanswerable)
        )
        if unanswerable
        else None,
        "latency_p50_s": percentile([r.seconds for r in results], 0.5),
        "latency_p95_s": percentile([r.seconds for r in results], 0.95),
        "quotes_outside_chunks": sum(r.quotes_outside for r in results),
    }


def summarize(results: list[Result], backend: str, k: int) -> dict:
    kinds = sorted({r.item.get("kind", "?") for r in results})
    refused = [r for r in results if r.item["answer"] != UNANSWERABLE and r.cause]
    causes: dict[str, list[str]] = {}
    for r in refused:
        causes.setdefault(r.cause or "?", []).append(str(r.item.get("id", "")))
    return {
        "backend": backend,
        "k": k,
        "overall": _summary_of(results),
        "false_abstention_causes": causes,
        "by_kind": {
            kind: _summary_of([r for r in results if r.item.get("kind", "?") == kind])
            for kind in kinds
        },
    }


def format_summary(summary: dict) -> str:
    cols = [
        "questions",
        "evidence_recall",
        "evidence_in_prompt",
        "answer_correct",
        "false_abstention",
        "wrong_answer",
        "citation_precision",
        "abstention_accuracy",
        "latency_p50_s",
        "latency_p95_s",
        "quotes_outside_chunks",
    ]
    heads = [
        "n",
        f"recall@{summary['k']}",
        "in prompt",
        "correct",
        "false abst.",
        "wrong",
        "cite prec.",
        "abstained",
        "p50 s",
        "p95 s",
        "quotes outside",
    ]

    def cell(v):
        if v is None:
            return "-"
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    rows = [("overall", summary["overall"])] + list(summary["by_kind"].items())
    lines = [
        f"backend: {summary['backend']}",
        "| kind | " + " | ".join(heads) + " |",
        "|---" * (len(heads) + 1) + "|",
    ]
    for name, s in rows:
        lines.append(f"| {name} | " + " | ".join(cell(s[c]) for c in cols) + " |")
    causes = summary.get("false_abstention_causes") or {}
    if causes:
        lines += [
            "",
            "answerable questions declined, by cause:",
            "| cause | n | questions |",
            "|---|---|---|",
        ]
        for cause, ids in sorted(causes.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"| {cause} | {len(ids)} | {' '.join(ids)} |")
    return "\n".join(lines)
