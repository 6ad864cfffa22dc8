"""Run records on disk: ``.specmill/runs/<run-id>/`` (git-ignored by its own .gitignore).

Each run folder holds ``record.json`` (the ``RunRecord``), ``calls/`` (every prompt
and answer), ``files/`` (the files the run generated, written or not) and ``review.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from specmill.core.paths import bounded_name
from specmill.core.project import RUNS
from specmill.core.records import RunRecord
from specmill.engine.agents import Transcript
from specmill.engine.guard import refusal
from specmill.errors import SpecmillError
from specmill.files import write_atomic

RECORD = "record.json"


def runs_folder(root: Path) -> Path:
    folder = root / RUNS
    if not (folder / ".gitignore").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitignore").write_text("# specmill run records: local only\n*\n")
    return folder


def transcript_text(transcript: Transcript) -> str:
    record = transcript.record
    parts = [
        f"# {record.role} call for {record.module} (attempt {record.attempt}"
        + (f", candidate {record.candidate})" if record.candidate is not None else ")"),
        f"model: {record.model}  template: {record.template} sha256:{record.template_sha256}",
        f"tokens: {record.prompt_tokens} in, {record.completion_tokens} out;"
        f" cost ${record.cost_usd:.4f}; {record.latency_s:.2f} s; {record.outcome}",
    ]
    if record.prompt_parts:
        sizes = ", ".join(f"{part} {tokens:,}" for part, tokens in record.prompt_parts.items())
        parts.append(f"prompt parts ({record.token_count}): {sizes}")
    if record.prompt_cut:
        parts.append(f"cut to fit: {', '.join(record.prompt_cut)}")
    if record.answer_form:
        parts.append(f"answer form: {record.answer_form}")
    for message in transcript.messages:
        parts += [f"## {message['role']}", str(message.get("content", ""))]
    parts += ["## answer", transcript.answer]
    return "\n\n".join(parts) + "\n"


def _writable(text: str) -> str:
    """``text`` with lone surrogates (a model can send ``"\\ud800"``) as escapes."""
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def save_run(
    root: Path,
    record: RunRecord,
    transcripts: Sequence[Transcript] = (),
    files: dict[str, str] | None = None,
    review: str | None = None,
) -> Path:
    folder = runs_folder(root) / record.run_id
    write_atomic(folder / RECORD, record.model_dump_json(indent=2) + "\n")
    for number, transcript in enumerate(transcripts, start=1):
        call = transcript.record
        which = f"-c{call.candidate}" if call.candidate is not None else ""
        name = f"{number:03d}-{bounded_name(call.module, 120)}-{call.role}{which}.md"
        write_atomic(folder / "calls" / name, _writable(transcript_text(transcript)))
    for path, text in (files or {}).items():
        if refusal(path, [path], ()) is None:  # guarded before; belt and braces
            write_atomic(folder / "files" / path, text)
    if review is not None:
        write_atomic(folder / "review.md", review)
    return folder


def parse_record(text: str, where: str) -> RunRecord:
    try:
        return RunRecord.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise SpecmillError(f"unreadable run record: {exc}", path=where) from None


def load_run(root: Path, run_id: str) -> RunRecord | None:
    path = root / RUNS / run_id / RECORD
    if not path.is_file():
        return None
    return parse_record(path.read_text(encoding="utf-8"), str(path.relative_to(root)))


def list_runs(root: Path) -> list[RunRecord]:
    """Every readable local run record, newest first."""
    folder = root / RUNS
    records = []
    for path in sorted(folder.glob(f"*/{RECORD}")) if folder.is_dir() else []:
        try:
            records.append(parse_record(path.read_text(encoding="utf-8"), str(path)))
        except SpecmillError:
            continue  # a half-written or foreign folder is not a run
    return sorted(records, key=lambda r: r.started_at, reverse=True)
