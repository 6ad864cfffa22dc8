"""Issue 18, item 6: what specmill keeps is inert to the project's tools, and nothing a
user had is lost.

Run records live in the git directory, the generated files as one ``files.json``;
records that older versions kept in ``.specmill/runs/<id>/`` (with a ``files/`` folder)
are still listed, shown, traced and used to name what made a module stale.
"""

from __future__ import annotations

import json
import shutil

from tests.conftest import runs_dir
from tests.engine.conftest import INVOICE_CODE, PASS, Factory, executor, plan

INVOICE_PY = "src/billing/invoice.py"


def test_records_live_in_the_git_directory_and_older_ones_are_still_read(
    factory: Factory,
) -> None:
    lines = [{"start": 2, "end": 3, "requirements": ["R2"]}]
    factory.answers(
        planner=[plan(INVOICE_PY)],
        executor=[executor(INVOICE_PY, INVOICE_CODE, lines)],
        verifier=[PASS, PASS],
    )
    code, out, err = factory.main("regen", "--no-commit")
    assert code == 0, err
    (folder,) = [p for p in runs_dir(factory.root).iterdir() if p.is_dir()]
    assert f"review: {folder.as_posix()}/review.md" in out
    files = json.loads((folder / "files.json").read_text(encoding="utf-8"))
    assert list(files) == [INVOICE_PY] and not (folder / "files").exists()
    assert not (factory.root / ".specmill").exists()  # nothing in the work tree

    # The record as an older specmill kept it: in the work tree, one file per output.
    legacy = factory.root / ".specmill" / "runs" / folder.name
    shutil.move(folder, legacy)
    (legacy / "files.json").unlink()
    (legacy / "files" / INVOICE_PY).parent.mkdir(parents=True)
    (legacy / "files" / INVOICE_PY).write_text(files[INVOICE_PY], encoding="utf-8")

    listed = factory.main("runs")[1]
    assert folder.name in listed
    assert "billing.invoice: passed" in factory.main("runs", folder.name)[1]
    code, out, err = factory.main("trace", f"{INVOICE_PY}:7", "--json")
    assert code == 0, err
    traced = json.loads(out)
    assert traced["record_from"] == f".specmill/runs/{folder.name}"
    assert [r["id"] for r in traced["requirements"]] == ["R2"]
    factory.write("STYLE.md", factory.read("STYLE.md") + "- More.\n")
    code, out, _ = factory.main("check")
    assert code == 1 and "governance file STYLE.md changed" in out
