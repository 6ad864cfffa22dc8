"""Run records on disk, and the one place that knows where they live.

A run's folder is ``<git dir>/specmill/runs/<run-id>/``: inside the repository's git
directory, as the stat cache is, where no test runner, linter or bundler of the
project looks (``node --test`` collected ``.specmill/runs/*/files/**/*.test.js`` and
failed on them). It holds ``record.json`` (the ``RunRecord``), ``calls/`` (every prompt
and answer), ``files.json`` (the files the run generated, written or not, as one JSON
object: no tool takes it for source) and ``review.md``. Records that older versions
kept in the work tree, ``.specmill/runs/<run-id>/`` (with a ``files/`` folder), are still
read and listed; nothing new is written there, except outside a git repository.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from specmill.core.layout import RUNS_IN_GIT_DIR
from specmill.core.paths import bounded_name
from specmill.core.records import RunRecord
from specmill.core.repo_files import RUNS as LEGACY_RUNS
from specmill.errors import SpecmillError
from specmill.files import write_atomic
from specmill.gitcli import common_dir

if TYPE_CHECKING:
    from specmill.engine.agents import Transcript

RECORD = "record.json"
FILES = "files.json"


def runs_folder(root: Path) -> Path:
    """Where new run records go (made if missing)."""
    git_dir = common_dir(root)
    if git_dir is not None:
        folder = git_dir / RUNS_IN_GIT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    folder = root / LEGACY_RUNS
    if not (folder / ".gitignore").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitignore").write_text("# specmill run records: local only\n*\n")
    return folder


def _folders(root: Path) -> list[Path]:
    """Every place records may be, newest layout first."""
    git_dir = common_dir(root)
    places = [git_dir / RUNS_IN_GIT_DIR] if git_dir is not None else []
    return [*places, root / LEGACY_RUNS]


def run_folder(root: Path, run_id: str) -> Path | None:
    """The folder of run ``run_id`` that holds its record, wherever it is."""
    if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
        return None
    for folder in _folders(root):
        if (folder / run_id / RECORD).is_file():
            return folder / run_id
    return None


def shown(root: Path, folder: Path) -> str:
    """``folder`` as messages show it: relative to the project when inside it."""
    try:
        return folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return folder.as_posix()


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
    from specmill.engine.guard import refusal

    folder = runs_folder(root) / record.run_id
    write_atomic(folder / RECORD, record.model_dump_json(indent=2) + "\n")
    for number, transcript in enumerate(transcripts, start=1):
        call = transcript.record
        which = f"-c{call.candidate}" if call.candidate is not None else ""
        name = f"{number:03d}-{bounded_name(call.module, 120)}-{call.role}{which}.md"
        write_atomic(folder / "calls" / name, _writable(transcript_text(transcript)))
    # guarded before; belt and braces. ASCII JSON keeps any text, lone surrogates too.
    kept = {p: text for p, text in sorted((files or {}).items()) if refusal(p, [p], ()) is None}
    if kept:
        write_atomic(folder / FILES, json.dumps(kept, indent=1) + "\n")
    if review is not None:
        write_atomic(folder / "review.md", review)
    return folder


def parse_record(text: str, where: str) -> RunRecord:
    try:
        return RunRecord.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise SpecmillError(f"unreadable run record: {exc}", path=where) from None


def record_text(root: Path, run_id: str) -> str | None:
    """The JSON text of run ``run_id``'s record, or None when there is none here."""
    folder = run_folder(root, run_id)
    if folder is None:
        return None
    try:
        return (folder / RECORD).read_text(encoding="utf-8")
    except OSError:
        return None


def load_run(root: Path, run_id: str) -> RunRecord | None:
    folder = run_folder(root, run_id)
    if folder is None:
        return None
    text = (folder / RECORD).read_text(encoding="utf-8")
    return parse_record(text, shown(root, folder / RECORD))


def run_ids(root: Path) -> list[str]:
    """Every local run's id (folders holding a record), newest first."""
    found = {
        path.parent.name
        for folder in _folders(root)
        if folder.is_dir()
        for path in folder.glob(f"*/{RECORD}")
    }
    return sorted(found, reverse=True)


def list_runs(root: Path) -> list[RunRecord]:
    """Every readable local run record, newest first."""
    records = []
    for run_id in run_ids(root):
        try:
            record = load_run(root, run_id)
        except (OSError, SpecmillError):
            continue  # a half-written or foreign folder is not a run
        if record is not None:
            records.append(record)
    return sorted(records, key=lambda r: r.started_at, reverse=True)


def generated_file(root: Path, run_id: str, path: str) -> str | None:
    """The text run ``run_id`` generated for ``path``, as it recorded it."""
    folder = run_folder(root, run_id)
    if folder is None:
        return None
    if (folder / FILES).is_file():
        try:
            files = json.loads((folder / FILES).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        text = files.get(path) if isinstance(files, dict) else None
        return text if isinstance(text, str) else None
    legacy = folder / "files" / path  # records of older versions: one file each
    if legacy.is_file() and legacy.resolve().is_relative_to(folder.resolve()):
        return legacy.read_text(encoding="utf-8", errors="surrogateescape")
    return None
