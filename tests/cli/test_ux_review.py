"""A demanding user's review of the CLI: bad input of every kind, and the contract.

Each test pins one problem found by using specmill in throwaway repositories: no
input may end in a traceback or an "internal error" line, and the output keeps the
``path:line: kind: message`` / JSON contract of DESIGN.md.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest

from tests.conftest import Project, git


def _no_crash(code: int, err: str) -> None:
    assert "internal error" not in err and "Traceback" not in err, err
    assert code in (0, 1), (code, err)


# --- specs that cannot be read or decoded ---------------------------------------------


def test_non_utf8_spec_is_an_invalid_spec_not_a_crash(project: Project) -> None:
    (project.root / "specs").mkdir()
    (project.root / "specs/latin.md").write_bytes(b"---\noutputs:\n  - src/caf\xe9.py\n---\n")
    code, out, err = project.main("lint")
    _no_crash(code, err)
    assert code == 1
    assert out.startswith("specs/latin.md:3: invalid: not valid UTF-8")


@pytest.mark.parametrize("target", ["nowhere.md", "loop.md"])
def test_dangling_or_looping_symlink_spec_is_invalid_not_a_crash(
    project: Project, target: str
) -> None:
    (project.root / "specs").mkdir()
    os.symlink(target, project.root / "specs/loop.md")
    for command in ("lint", "check", "status"):
        code, out, err = project.main(command)
        _no_crash(code, err)
    code, out, err = project.main("lint")
    assert code == 1 and out.startswith("specs/loop.md:1: invalid: cannot read")


def test_unreadable_spec_is_invalid_not_a_crash(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = project.write("specs/secret.md", "---\noutputs: [src/a.py]\n---\n")
    real_open = open

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(file) == os.fspath(spec):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    code, out, err = project.main("lint")
    _no_crash(code, err)
    assert out.startswith("specs/secret.md:1: invalid: cannot read specs/secret.md")
    assert "Permission denied" in out


def test_duplicate_yaml_keys_are_an_error(project: Project) -> None:
    project.write("specs/dup.md", "---\noutputs: [src/a.py]\noutputs: [src/b.py]\n---\n")
    code, out, _ = project.main("lint")
    assert code == 1
    assert out.startswith("specs/dup.md:3: invalid: invalid YAML in front matter: duplicate key")


def test_module_id_derived_from_a_file_name_must_be_valid(project: Project) -> None:
    project.write("specs/my spec.md", "---\noutputs: [src/a.py]\n---\n")
    code, out, _ = project.main("lint")
    assert code == 1
    assert out.startswith("specs/my spec.md:1: invalid: module id 'my spec'")
    assert "id:" in out
    project.write("specs/my spec.md", "---\nid: mine\noutputs: [src/a.py]\n---\n")
    assert project.main("lint")[0] == 0


def test_a_misspelt_key_is_reported_as_unknown_not_as_missing_outputs(project: Project) -> None:
    project.write("specs/typo.md", "---\noutput: [src/a.py]\n---\n")
    code, out, _ = project.main("lint")
    assert code == 1
    assert out.startswith("specs/typo.md:2: invalid: unknown key 'output'")


# --- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize("specs", ["./specs", "specs/", "specs//"])
def test_specs_folder_is_normalised(project: Project, specs: str) -> None:
    project.write("specmill.toml", f'[specmill]\nspecs = "{specs}"\n')
    project.write("specs/billing/money.md", "---\noutputs: [src/money.py]\n---\n")
    code, out, _ = project.main("status", "--json")
    assert code == 0
    assert json.loads(out)[0]["module"] == "billing.money"
    # the specs folder stays protected: no spec may declare another spec as its output
    project.write("specs/evil.md", "---\noutputs: [specs/billing/money.md]\n---\n")
    code, out, _ = project.main("lint")
    assert code == 1 and "protected path" in out


def test_specs_folder_cannot_be_the_repository_root(project: Project) -> None:
    project.write("specmill.toml", '[specmill]\nspecs = "."\n')
    code, out, _ = project.main("lint")
    assert code == 1
    assert "specmill.toml:2: invalid: specs: " in out
    assert "folder inside the repository" in out


def test_config_with_a_bom_is_read(project: Project) -> None:
    (project.root / "specs").mkdir()
    (project.root / "specmill.toml").write_bytes(b'\xef\xbb\xbf[specmill]\nspecs = "specs"\n')
    code, out, err = project.main("lint")
    assert code == 0, out + err


def test_non_utf8_config_is_an_error(project: Project) -> None:
    (project.root / "specmill.toml").write_bytes(b'[specmill]\nspecs = "sp\xe9cs"\n')
    code, out, err = project.main("lint")
    _no_crash(code, err)
    assert code == 1
    assert "specmill.toml:2: invalid: not valid UTF-8" in out


def test_check_reports_a_bad_config_as_an_invalid_problem(project: Project) -> None:
    project.write("specmill.toml", "[specmill]\n[specmill.models]\nbogus = 1\n")
    code, out, _ = project.main("check")
    assert code == 1
    assert out.splitlines()[0] == "specmill.toml:3: invalid: unknown key 'models.bogus'"
    code, out, _ = project.main("check", "--json")
    assert code == 1
    assert json.loads(out) == [
        {
            "path": "specmill.toml",
            "line": 3,
            "kind": "invalid",
            "message": "unknown key 'models.bogus'",
            "module": None,
            "hint": "fix the file at the line shown; `specmill lint` checks specs and config",
        }
    ]
    code, out, _ = project.main("lint", "--json")
    assert code == 1 and json.loads(out)[0]["path"] == "specmill.toml"


@pytest.mark.parametrize("bad", [b"\xff\xfe", None])
def test_bad_prompt_override_is_a_clear_error(project: Project, bad: bytes | None) -> None:
    folder = project.root / ".specmill/templates/prompts"
    folder.mkdir(parents=True)
    if bad is None:
        (folder / "planner.j2").mkdir()
    else:
        (folder / "planner.j2").write_bytes(bad)
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    code, _, err = project.main("status", "--json")
    _no_crash(code, err)
    if bad is not None:
        assert code == 1 and ".specmill/templates/prompts/planner.j2" in err


def test_corrupt_stat_cache_only_means_starting_cold(billing: Project) -> None:
    assert billing.main("check")[0] == 0
    cache = billing.root / ".git/specmill/stat-cache.json"
    os.utime(billing.root / "src/billing/money.py", (1, 1))  # old enough to be cached
    os.utime(billing.root / "specs/billing/money.md", (1, 1))
    assert billing.main("check")[0] == 0
    data = json.loads(cache.read_text())
    assert data["count"]  # columns: paths, their stat keys, their probes (one line each)
    for broken in (5, [1], "", "x\ty", "\n" * 3):
        cache.write_text(json.dumps({**data, "probes": broken}))
        code, out, err = billing.main("check")
        assert (code, out) == (0, ""), err
    keys = []
    for path in data["paths"].split("\n"):
        st = os.stat(billing.root / path)
        keys.append(f"{st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_ctime_ns}")
    lines = "\n".join("5" for _ in keys)
    cache.write_text(json.dumps({**data, "keys": "\n".join(keys), "probes": lines}))
    code, out, err = billing.main("check")
    assert (code, out) == (0, ""), err


# --- paths on the command line ------------------------------------------------------------


def test_lint_with_a_folder_reports_the_problems_below_it(project: Project) -> None:
    project.write("specs/bad.md", "---\nbogus: 1\n---\n")
    for path in ("specs", "specs/", "."):
        code, out, _ = project.main("lint", path)
        assert code == 1, path
        assert out.startswith("specs/bad.md:2: invalid: unknown key 'bogus'"), path


@pytest.mark.parametrize("command", ["check", "lint"])
def test_a_path_that_names_nothing_is_an_error(billing: Project, command: str) -> None:
    code, out, err = billing.main(command, "src/billing/mony.py")
    assert (code, out) == (1, "")
    assert "src/billing/mony.py" in err and "no such file" in err
    # a declared output that is missing is still a path worth checking
    (billing.root / "src/billing/money.py").unlink()
    code, out, _ = billing.main("check", "src/billing/money.py")
    assert code == 1 and "missing" in out


def test_check_a_symlink_path_is_the_link_not_its_target(billing: Project) -> None:
    billing.write("specs/billing/link.md", "---\noutputs: [src/billing/link.py]\n---\n")
    billing.write("src/billing/plain.py", "x = 1\n")
    os.symlink("plain.py", billing.root / "src/billing/link.py")
    code, out, _ = billing.main("check", "src/billing/link.py")
    assert code == 1
    assert out.startswith("src/billing/link.py:1: header-missing")


def test_deleted_current_folder_is_a_clear_error(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    from specmill.cli.main import main

    gone = project.root / "gone"
    gone.mkdir()
    old = Path.cwd()
    os.chdir(gone)
    try:
        gone.rmdir()
        code = main(["check"])
    finally:
        os.chdir(old)
    err = capsys.readouterr().err
    _no_crash(code, err)
    assert code == 1 and "current folder" in err


# --- adopt ---------------------------------------------------------------------------------


def test_adopt_refuses_a_symlink(project: Project) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    project.write("src/real.py", "x = 1\n")
    os.symlink("real.py", project.root / "src/a.py")
    code, _, err = project.main("adopt", "src/a.py")
    _no_crash(code, err)
    assert code == 1 and "src/a.py is a symbolic link" in err
    assert os.path.islink(project.root / "src/a.py")
    assert project.read("src/real.py") == "x = 1\n"


def test_adopt_refuses_a_binary_file(project: Project) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    (project.root / "src").mkdir()
    (project.root / "src/a.py").write_bytes(b"\x00\x01\x02binary")
    code, _, err = project.main("adopt", "src/a.py")
    assert code == 1 and "binary" in err
    assert (project.root / "src/a.py").read_bytes() == b"\x00\x01\x02binary"


def test_adopt_a_folder_says_so(project: Project) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    (project.root / "src/a.py").mkdir(parents=True)
    code, _, err = project.main("adopt", "src/a.py")
    assert code == 1 and "src/a.py is a folder" in err


def test_adopt_with_a_non_utf8_gitattributes(project: Project) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    project.write("src/a.py", "x = 1\n")
    (project.root / ".gitattributes").write_bytes(b"# caf\xe9\r\n*.bin binary\r\n")
    code, _, err = project.main("adopt", "src/a.py")
    _no_crash(code, err)
    assert code == 0
    data = (project.root / ".gitattributes").read_bytes()
    assert data.startswith(b"# caf\xe9\r\n*.bin binary\r\n")
    assert b"src/a.py linguist-generated=true" in data


def test_written_files_honour_the_umask(project: Project) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    project.write("src/a.py", "x = 1\n")
    old = os.umask(0o022)
    try:
        assert project.main("adopt", "src/a.py")[0] == 0
    finally:
        os.umask(old)
    mode = stat.S_IMODE((project.root / ".gitattributes").stat().st_mode)
    assert mode == 0o644


# --- init ----------------------------------------------------------------------------------


def test_init_keeps_a_non_utf8_crlf_gitignore(project: Project) -> None:
    (project.root / "specmill.toml").unlink()
    (project.root / ".gitignore").write_bytes(b"# caf\xe9\r\n*.pyc\r\n")
    code, _, err = project.main("init")
    _no_crash(code, err)
    assert code == 0
    expected = b"# caf\xe9\r\n*.pyc\r\n.specmill/runs/\r\n"
    assert (project.root / ".gitignore").read_bytes() == expected


def test_init_refuses_before_writing_when_gitignore_is_a_folder(project: Project) -> None:
    (project.root / "specmill.toml").unlink()
    (project.root / ".gitignore").mkdir()
    code, _, err = project.main("init")
    _no_crash(code, err)
    assert code == 1 and ".gitignore" in err
    assert not (project.root / "specmill.toml").exists()


def test_init_in_a_subfolder_sets_up_the_repository_root(project: Project) -> None:
    (project.root / "specmill.toml").unlink()
    sub = project.root / "src"
    sub.mkdir()
    code, _, err = Project(sub).main("init")
    assert code == 0, err
    assert (project.root / "specmill.toml").exists()
    assert (project.root / ".pre-commit-config.yaml").exists()
    assert not (sub / "specmill.toml").exists()


# --- status -------------------------------------------------------------------------------


def test_status_table_never_truncates_paths(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = "src/" + "/".join(["averyveryverylongfoldername"] * 3) + "/module.py"
    project.write("specs/a.md", f"---\noutputs: [{long}]\n---\n")
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = project.main("status")
    assert code == 0
    assert "…" not in out
    assert "(1 module)" in out
    assert long in out  # piped: whole lines, for grep


# --- affected -------------------------------------------------------------------------------


def test_affected_base_without_commits_says_so(project: Project) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    code, out, err = project.main("affected", "--base", "HEAD")
    assert (code, out) == (1, "")
    assert "no commits yet" in err and "git fetch" not in err


def test_affected_base_outside_git_says_so(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    p = Project(root)
    p.write("specmill.toml", "[specmill]\n")
    code, out, err = p.main("affected", "--base", "main")
    assert (code, out) == (1, "")
    assert "not inside a git repository" in err and "git fetch" not in err


def test_affected_without_a_merge_base_warns(billing: Project) -> None:
    billing.git("checkout", "--quiet", "--orphan", "other")
    billing.git("rm", "-rq", "--cached", ".")
    billing.git("commit", "--quiet", "--allow-empty", "-m", "unrelated")
    billing.git("checkout", "--quiet", "--force", "main")
    code, out, err = billing.main("affected", "--base", "other", "--json")
    assert code == 0 and json.loads(out) == []
    assert "no merge base" in err
    assert git(billing.root, "status", "--porcelain") == ""


def test_validation_messages_have_no_pydantic_prefix(project: Project) -> None:
    project.write("specs/a.md", '---\nid: "bad id"\noutputs: [src/a.py]\n---\n')
    code, out, _ = project.main("lint")
    assert code == 1 and "Value error" not in out
    assert out.startswith("specs/a.md:2: invalid: id: must be letters")
    project.write("specmill.toml", "[specmill]\ncomment_styles = { '.x' = 'nope' }\n")
    code, out, _ = project.main("lint")
    assert code == 1 and "Value error" not in out
    assert out.startswith("specmill.toml:2: invalid: comment_styles: '.x': unknown comment style")


def test_a_file_system_error_is_a_clear_error_not_an_internal_one(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    project.write("src/a.py", "x = 1\n")

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(30, "Read-only file system", "src/a.py")

    monkeypatch.setattr("specmill.cli.adopt.write_atomic", read_only)
    code, out, err = project.main("adopt", "src/a.py")
    assert (code, out) == (1, "")
    assert err == "specmill: error: Read-only file system: src/a.py\n"


def test_adopt_refuses_while_a_dependency_spec_is_invalid(billing: Project) -> None:
    billing.write("specs/billing/money.md", "---\noutputs: [src/billing/money.py]\nbogus: 1\n---\n")
    before = billing.read("src/billing/invoice.py")
    code, _, err = billing.main("adopt", "src/billing/invoice.py")
    assert code == 1
    assert "specs/billing/money.md:3: unknown key 'bogus'" in err
    assert billing.read("src/billing/invoice.py") == before


def test_a_configured_specs_folder_that_does_not_exist_is_invalid(project: Project) -> None:
    assert project.main("lint")[0] == 0  # the default folder may not exist yet
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    project.write("specmill.toml", '[specmill]\nspecs = "spec"\n')
    code, out, _ = project.main("check")
    assert code == 1
    assert out.startswith("specmill.toml:2: invalid: specs: no folder 'spec'")


def test_a_fifo_spec_or_output_does_not_hang(project: Project) -> None:
    (project.root / "specs").mkdir()
    (project.root / "src").mkdir()
    os.mkfifo(project.root / "specs/fifo.md")
    os.mkfifo(project.root / "src/fifo.py")
    project.write("specs/a.md", "---\noutputs: [src/fifo.py]\n---\n")

    def hung(*args: object) -> None:
        raise TimeoutError("specmill blocked reading a FIFO")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        code, out, err = project.main("check")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    _no_crash(code, err)
    assert "specs/fifo.md:1: invalid: specs/fifo.md is not a regular file" in out
    assert "specs/a.md:2: missing: src/fifo.py" in out


def test_an_unreadable_output_is_a_clear_error(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("specs/a.md", "---\noutputs: [src/a.py]\n---\n")
    output = project.write("src/a.py", "x = 1\n")
    project.write("src/other.py", "y = 1\n")
    real_open = open

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(file) == os.fspath(output):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    code, out, err = project.main("check")
    _no_crash(code, err)
    assert (code, out) == (1, "")
    assert err.startswith("specmill: error: cannot read src/a.py: Permission denied")


def test_init_does_not_shadow_a_pyproject_configuration(project: Project) -> None:
    (project.root / "specmill.toml").unlink()
    project.write("pyproject.toml", '[project]\nname = "x"\n\n[tool.specmill]\nspecs = "docs"\n')
    code, _, err = project.main("init")
    assert code == 1 and "[tool.specmill] in pyproject.toml already exists" in err
    assert not (project.root / "specmill.toml").exists()
