import json

import pytest

from tests.conftest import SPEC_MONEY, Project


def test_status_json_matches_the_contract(billing: Project) -> None:
    billing.write("src/billing/money.py", billing.read("src/billing/money.py") + "x = 1\n")
    code, out, _ = billing.main("status", "--json")
    assert code == 0
    assert json.loads(out) == [
        {
            "module": "billing.money",
            "spec": "specs/billing/money.md",
            "outputs": [{"path": "src/billing/money.py", "state": "hand-edited"}],
        },
        {
            "module": "billing.invoice",
            "spec": "specs/billing/invoice.md",
            "outputs": [
                {"path": "src/billing/invoice.py", "state": "fresh"},
                {"path": "tests/billing/test_invoice.py", "state": "fresh"},
            ],
        },
    ]


def test_status_reads_at_80_columns_one_line_per_output(
    billing: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    billing.write("src/billing/money.py", billing.read("src/billing/money.py") + "x = 1\n")
    code, out, _ = billing.main("status")
    assert code == 0
    assert out.splitlines() == [
        "specmill status (2 modules)",
        "billing.money  specs/billing/money.md",
        "  hand-edited     src/billing/money.py",
        "billing.invoice  specs/billing/invoice.md",
        "  fresh           src/billing/invoice.py",
        "  fresh           tests/billing/test_invoice.py",
    ]


def test_lint_ok_and_errors(billing: Project) -> None:
    code, out, _ = billing.main("lint")
    assert (code, out) == (0, "")  # piped: only the contract's lines
    billing.write(
        "specs/billing/tax.md", "---\noutputs: [src/tax.py]\ndepends_on: [billing.mony]\n---\n"
    )
    code, out, _ = billing.main("lint")
    assert code == 1
    assert out.strip() == (
        "specs/billing/tax.md:3: invalid: depends_on: unknown module 'billing.mony' "
        "(did you mean 'billing.money'?)"
    )


def test_lint_reports_missing_context_and_governance(billing: Project) -> None:
    billing.write("specmill.toml", "[specmill]\ngovernance = ['STYLE.md']\n")
    billing.write("specs/ctx.md", "---\noutputs: [src/ctx.py]\ncontext: [src/db.py]\n---\n")
    code, out, _ = billing.main("lint")
    assert code == 1
    assert "specs/ctx.md:3: invalid: context: src/db.py does not exist" in out
    assert "specmill.toml:2: invalid: governance: STYLE.md does not exist" in out


def test_affected_working_tree_and_base(billing: Project) -> None:
    code, out, _ = billing.main("affected", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = billing.main("affected", "--matrix")
    assert (code, json.loads(out)) == (0, {"include": []})  # Actions rejects it: guard the job
    billing.write("specs/billing/money.md", SPEC_MONEY + "- **M2** more\n")
    code, out, _ = billing.main("affected", "--json")
    assert json.loads(out) == ["billing.money", "billing.invoice"]
    code, out, _ = billing.main("affected", "--matrix")
    assert json.loads(out) == {
        "include": [{"name": "billing.money +1", "modules": "billing.money billing.invoice"}]
    }
    billing.git("checkout", "--quiet", "-b", "feature")
    billing.commit("change money")
    code, out, _ = billing.main("affected", "--base", "main", "--head", "HEAD", "--json")
    assert json.loads(out) == ["billing.money", "billing.invoice"]


def test_affected_matrix_groups_modules_into_at_most_max_jobs_entries(project: Project) -> None:
    for i in range(300):  # no outputs yet: every module is affected
        project.write(f"specs/m{i:03d}.md", f"---\noutputs: [src/m{i:03d}.py]\n---\n# m{i}\n")
    code, out, err = project.main("affected", "--matrix")
    include = json.loads(out)["include"]
    assert code == 0, err
    assert len(include) == 20  # bot.max_jobs' default
    assert sorted(m for entry in include for m in entry["modules"].split()) == [
        f"m{i:03d}" for i in range(300)
    ]
    assert include[0] == {
        "name": "m000 +14",
        "modules": " ".join(f"m{i:03d}" for i in range(0, 300, 20)),
    }
    for i in range(10, 300):
        (project.root / f"specs/m{i:03d}.md").unlink()
    project.write("specmill.toml", "[specmill.bot]\nmax_jobs = 3\n")
    code, out, _ = project.main("affected", "--matrix")
    assert len(json.loads(out)["include"]) == 3
    project.write("specmill.toml", "[specmill.bot]\nmax_jobs = 257\n")
    code, _, err = project.main("affected", "--matrix")
    assert code == 1 and "max_jobs" in err and "256" in err and "Traceback" not in err


def test_affected_base_ignores_stale_modules_the_diff_did_not_touch(billing: Project) -> None:
    billing.write("specs/billing/money.md", SPEC_MONEY + "- **M2** more\n")
    billing.commit("money changed on main without regenerating")
    billing.git("checkout", "--quiet", "-b", "feature")
    billing.write("specs/lonely.md", "---\noutputs: [src/lonely.py]\n---\n")
    code, out, _ = billing.main("affected", "--base", "main", "--json")
    assert json.loads(out) == ["lonely"]
    code, out, _ = billing.main("affected", "--json")
    assert code == 0
    assert json.loads(out) == ["billing.money", "billing.invoice", "lonely"]


def test_affected_usage_errors(billing: Project) -> None:
    code, _, err = billing.main("affected", "--head", "HEAD")
    assert code == 2 and "--head needs --base" in err
    code, _, err = billing.main("affected", "--base", "nope")
    assert code == 1 and "unknown revision 'nope'" in err


def test_adopt_refuses_undeclared_and_generated(billing: Project) -> None:
    billing.write("src/free.py", "x = 1\n")
    code, _, err = billing.main("adopt", "src/free.py")
    assert code == 1 and "src/free.py is not in any spec's outputs" in err
    billing.write("src/billing/money.py", billing.read("src/billing/money.py"))
    code, _, err = billing.main("adopt", "nothere.py")
    assert code == 1


def test_adopt_writes_header_and_gitattributes(billing: Project) -> None:
    text = billing.read("src/billing/invoice.py")
    assert text.startswith(
        "# Code generated by specmill from specs/billing/invoice.md. DO NOT EDIT."
    )
    assert "origin=adopted" in text.splitlines()[1]
    attributes = billing.read(".gitattributes")
    assert "src/billing/invoice.py linguist-generated=true" in attributes


def test_graph_mermaid(billing: Project) -> None:
    code, out, _ = billing.main("graph")
    assert code == 0 and out.startswith("graph LR")
    assert '["billing.invoice"]' in out and "-->" in out


def test_init_writes_and_never_overwrites(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "new"
    root.mkdir()
    (root / ".git").mkdir()
    p = Project(root)
    code, out, _ = p.main("init")
    assert code == 0
    assert (root / "specmill.toml").exists() and (root / "specs/example/greeting.md").exists()
    assert ".specmill/runs/" in (root / ".gitignore").read_text()
    assert "specmill-no-hand-edits" in (root / ".pre-commit-config.yaml").read_text()
    code, out, _ = p.main("lint")
    assert code == 0, out
    (root / "specmill.toml").write_text("[specmill]\n# mine\n")
    code, _, err = p.main("init")
    assert code == 1 and "already exist" in err and "nothing was written" in err
    assert (root / "specmill.toml").read_text() == "[specmill]\n# mine\n"
    assert p.main("init", "--force")[0] == 0


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help(args: list[str], billing: Project) -> None:
    code, out, _ = billing.main(*args)
    assert code == 0 and out


def test_unknown_command_is_a_usage_error(billing: Project) -> None:
    code, _, err = billing.main("frobnicate")
    assert code == 2 and "No such command" in err


def test_lint_refuses_a_context_file_that_leads_outside(project: Project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "credentials"
    outside.write_text("secret")
    (project.root / "src").mkdir()
    (project.root / "src/db.py").symlink_to(outside)
    project.write("specs/ctx.md", "---\noutputs: [src/ctx.py]\ncontext: [src/db.py]\n---\n")
    code, out, _ = project.main("lint")
    assert code == 1
    assert out.startswith(
        "specs/ctx.md:3: invalid: context: src/db.py leads outside the repository"
    )
    assert "secret" not in out
