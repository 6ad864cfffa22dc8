import json

from specmill.core.header import split_header
from tests.conftest import Project


def test_clean_project_passes(billing: Project) -> None:
    code, out, err = billing.main("check")
    assert (code, out, err) == (0, "", "")


def test_hand_edit_names_file_and_first_changed_line(billing: Project) -> None:
    text = billing.read("src/billing/invoice.py")
    billing.write("src/billing/invoice.py", text.replace("return 0", "return 42"))
    code, out, err = billing.main("check")
    assert code == 1
    # header (5 lines) + "def total():" -> the edited line is 7
    assert out.splitlines() == [
        "src/billing/invoice.py:7: hand-edited: edited since `specmill adopt` recorded it for "
        "specs/billing/invoice.md (module billing.invoice)"
    ]
    assert err.splitlines() == [
        "  fix: edit specs/billing/invoice.md and run `specmill regen billing.invoice`, adopt "
        "the edited code with `specmill adopt --force src/billing/invoice.py`, or take the "
        "file over by hand with `specmill eject src/billing/invoice.py`"
    ]


def test_a_hand_edit_committed_with_skip_points_at_its_line_as_the_hook_did(
    billing: Project,
) -> None:
    from specmill.hooks.no_hand_edits import main as hook
    from tests.hooks.support import run_main

    path = "src/billing/invoice.py"
    billing.write(path, billing.read(path).replace("return 0", "return 42"))
    billing.git("add", "--all")
    code, lines = run_main(hook, billing.root, path)
    assert code == 1 and lines[0].startswith(f"{path}:7: hand-edited: ")
    billing.git("commit", "--quiet", "-m", "SKIP=specmill-no-hand-edits: quick fix")
    billing.write(path, billing.read(path) + "# and another\n")
    billing.commit("a second edit on top")
    code, out, _ = billing.main("check", path)
    assert code == 1
    assert out.startswith(f"{path}:7: hand-edited: ")


def test_crlf_checkout_is_not_a_hand_edit(billing: Project) -> None:
    path = billing.root / "src/billing/invoice.py"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    code, out, _ = billing.main("check")
    assert (code, out) == (0, "")


def test_header_removed_missing_and_orphan(billing: Project) -> None:
    money = billing.read("src/billing/money.py")
    billing.write("src/billing/money.py", split_header(money, "src/billing/money.py").outside)
    (billing.root / "tests/billing/test_invoice.py").unlink()
    billing.write("src/old.py", billing.read("src/billing/invoice.py"))
    code, out, _ = billing.main("check")
    assert code == 1
    lines = out.splitlines()
    assert (
        "src/billing/money.py:1: header-missing: its specmill header was removed; "
        "specs/billing/money.md (module billing.money) declares it" in lines
    )
    assert (
        "specs/billing/invoice.md:4: missing: tests/billing/test_invoice.py is declared but "
        "does not exist" in lines
    )
    assert any(
        line.startswith("src/old.py:1: orphan: adopted for specs/billing/invoice.md")
        for line in lines
    )


def test_stale_after_spec_change(billing: Project) -> None:
    spec = billing.read("specs/billing/money.md")
    billing.write("specs/billing/money.md", spec + "- **M2** Money adds.\n")
    code, out, _ = billing.main("check", "--json")
    assert code == 1
    problems = json.loads(out)
    stale = {(p["path"], p["kind"]) for p in problems}
    # money changed; invoice depends on money's spec, so it is stale too
    assert ("src/billing/money.py", "stale") in stale
    assert ("src/billing/invoice.py", "stale") in stale
    assert all(p["hint"] for p in problems)


def test_conflict_and_invalid_spec(billing: Project) -> None:
    billing.write(
        "specs/billing/other.md", "---\noutputs:\n  - src/billing/money.py\n---\n# Other\n"
    )
    billing.write("specs/broken.md", "---\noutputs: [a.py\n---\n")
    code, out, _ = billing.main("check")
    assert code == 1
    assert (
        "specs/billing/other.md:3: conflict: src/billing/money.py is also declared by "
        "specs/billing/money.md" in out
    )
    assert "specs/broken.md:3: invalid: invalid YAML in front matter" in out


def test_paths_restrict_the_report(billing: Project) -> None:
    for name in ("src/billing/invoice.py", "src/billing/money.py"):
        billing.write(name, billing.read(name) + "# edit\n")
    code, out, _ = billing.main("check", "src/billing/money.py")
    assert code == 1
    assert out.startswith("src/billing/money.py:") and "invoice" not in out
    code, out, _ = billing.main("check", "specs/billing/invoice.md")
    assert code == 1 and out.startswith("src/billing/invoice.py:")


def test_outside_a_project_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".git").mkdir()
    code, out, err = Project(tmp_path).main("check")
    assert (code, out) == (1, "")
    assert err.startswith("specmill: error: no specmill.toml")
    assert "hint: run `specmill init`" in err


def test_bad_config_is_reported_with_line_and_no_traceback(project: Project) -> None:
    project.write("specmill.toml", "[specmill]\nspecz = 'x'\n")
    code, out, err = project.main("check")
    assert code == 1
    # a malformed config is an `invalid` problem, as DESIGN.md's check kinds say
    assert out == "specmill.toml:2: invalid: unknown key 'specz'\n"
    assert "Traceback" not in err


def test_unsupported_output_format(project: Project) -> None:
    project.write("specs/data.md", "---\noutputs: [data/table.json]\n---\n")
    code, out, _ = project.main("lint")
    assert code == 1
    assert out.startswith("specs/data.md:2: invalid: ")
    assert "JSON" in out
