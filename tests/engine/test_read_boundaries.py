"""What specmill reads, prints and names, at the edges (issue 19, related findings).

Each through the CLI, on a real repository: an output under a linked folder is not read
as the module's previous version; nothing under ``.git/`` or a protected path is sent
as context or governance, not even through a link; ``regen`` shows the endpoint as
host:port only; a prompt override that includes itself or misuses a filter is a template
error naming its file; a 250-character module id still gets its transcripts written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import runs_dir
from tests.engine.conftest import INVOICE_CODE, PASS, Factory, executor, plan
from tests.engine.openai_server import Endpoint, Reply

TOKEN = "ghs_PersistedByActionsCheckout0123456789"  # what .git/config holds after checkout
NOTHING = "nothing was run"  # a model call would exhaust the empty script


def everything_written(factory: Factory) -> str:
    """Every file under the repository, .git and .specmill included (run records)."""
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in factory.root.rglob("*")
        if p.is_file() and "objects" not in p.parts
    )


def test_an_output_under_a_linked_folder_is_not_read_as_its_previous_version(
    factory: Factory, tmp_path: Path
) -> None:
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "invoice.py").write_text(f"AWS_SECRET = '{TOKEN}'\n", encoding="utf-8")
    (factory.root / "gen").symlink_to(outside)
    factory.write("specs/billing/invoice.md", factory.read("specs/billing/invoice.md").replace(
        "src/billing/invoice.py", "gen/invoice.py"))  # fmt: skip
    factory.commit("invoice's output moves under gen/")
    factory.answers()  # any model call would find no answer
    before = factory.snapshot()

    code, out, err = factory.main("regen", "billing.invoice")

    assert code == 1 and "Traceback" not in err
    assert (
        f"gen/invoice.py is under the symbolic link gen (to {str(outside)!r}): specmill "
        "neither reads an output through a link" in err
    )
    assert TOKEN not in out + err + everything_written(factory)
    assert factory.snapshot() == before and not runs_dir(factory.root).exists()


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("context", ".git/config"),
        ("context", "docs/settings.txt"),  # a link to .git/config
        ("governance", ".git/config"),
        ("context", ".github/workflows/ci.yml"),  # protected: the write guard refuses it
    ],
)
def test_nothing_under_git_or_a_protected_path_is_sent_as_context(
    factory: Factory, setting: str, named: str
) -> None:
    git_config = factory.root / ".git" / "config"
    git_config.write_text(
        git_config.read_text() + f'[http "https://github.com/"]\n\textraheader = '
        f"AUTHORIZATION: basic {TOKEN}\n"
    )
    (factory.root / "docs").mkdir()
    (factory.root / "docs" / "settings.txt").symlink_to("../.git/config")
    factory.write(".github/workflows/ci.yml", f"env: {{TOKEN: {TOKEN}}}\n")
    if setting == "context":
        spec = factory.read("specs/billing/invoice.md").replace(
            "depends_on:", f"context: [{named}]\ndepends_on:"
        )
        factory.write("specs/billing/invoice.md", spec)
    else:
        factory.configure(governance=["STYLE.md", named])
    factory.commit("a context that leads into .git")
    factory.answers()
    before = factory.snapshot()

    linted, lint_out, _ = factory.main("lint")
    code, out, err = factory.main("regen", "billing.invoice")

    assert linted == 1 and code == 1 and "Traceback" not in err
    why = "is a protected path" if named.startswith(".github") else "is inside .git/"
    assert why in lint_out and why in err
    if named == "docs/settings.txt":
        assert "docs/settings.txt (a link to .git/config) is inside .git/" in err
    assert "specmill never sends it to the model as context or governance" in err
    assert TOKEN not in lint_out + out + err
    assert factory.snapshot() == before


def test_regen_shows_the_endpoint_as_host_and_port_only(
    served: tuple[Factory, Endpoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, endpoint = served
    host = endpoint.url.split("//", 1)[1].split("/", 1)[0]
    with_secrets = endpoint.url.replace("//", "//deploy:s3cretPassw0rd@", 1) + "?api-key=k3yK3y"
    monkeypatch.setenv("OPENAI_BASE_URL", with_secrets)
    config = factory.read("specmill.toml")
    factory.write("specmill.toml", config.replace(f'base_url = "{endpoint.url}"\n', ""))
    factory.commit("the endpoint comes from OPENAI_BASE_URL")
    endpoint.always = Reply(status=401, body={"error": {"message": "bad key"}})

    code, out, err = factory.main("regen", "billing.invoice")

    assert code == 1 and "Traceback" not in err
    assert f"models at {host}: planner m-planner" in err
    for secret in ("deploy", "s3cretPassw0rd", "k3yK3y"):
        assert secret not in out + err
    endpoint.unexpected = 0  # the 401s were the point


@pytest.mark.parametrize(
    ("override", "error"),
    [
        (
            '{% block system %}{% include "planner.j2" %}{% endblock %}{% block user %}'
            "{{ spec_text }}{% endblock %}",
            "an include cycle (planner.j2 includes planner.j2) would never end",
        ),
        (
            '{% block system %}{{ "%s and %s" | format(module) }}{% endblock %}'
            "{% block user %}{{ spec_text }}{% endblock %}",
            ".specmill/templates/prompts/planner.j2:1: prompt template planner.j2: "
            "TypeError: not enough arguments for format string",
        ),
    ],
    ids=["includes-itself", "format-misused"],
)
def test_a_broken_prompt_override_is_a_template_error_naming_its_file(
    factory: Factory, override: str, error: str
) -> None:
    factory.write(".specmill/templates/prompts/planner.j2", override)
    factory.commit("a prompt override")
    factory.answers()
    before = factory.snapshot()

    code, out, err = factory.main("regen", "billing.invoice")
    linted, lint_out, _ = factory.main("lint")

    assert code == 1 and "internal error" not in err and "Traceback" not in err
    assert ".specmill/templates/prompts/planner.j2" in out + err and error in out + err
    assert factory.snapshot() == before
    if "cycle" in error:  # lint sees the cycle without rendering anything
        assert linted == 1 and error in lint_out


def test_a_250_character_module_id_gets_transcripts_with_names_a_file_system_takes(
    factory: Factory,
) -> None:
    long_id = "billing." + "x" * 242
    spec = factory.read("specs/billing/invoice.md").replace(
        "---\noutputs:", f"---\nid: {long_id}\noutputs:"
    )
    factory.write("specs/billing/invoice.md", spec)
    factory.commit("a long id")
    path = "src/billing/invoice.py"
    factory.answers(planner=[plan(path)], executor=[executor(path, INVOICE_CODE)],
                    verifier=[PASS, PASS])  # fmt: skip

    code, _, err = factory.main("regen", long_id)

    assert code == 0, err
    calls = sorted(runs_dir(factory.root).glob("*/calls/*.md"))
    names = [p.name for p in calls]
    assert len(names) == 4 == len(set(names))  # planner, executor, two verifiers
    assert all(len(name.encode()) <= 255 for name in names)
    assert all(name.split("-", 1)[1].startswith("billing.xxxx") for name in names)
    record = json.loads(next(runs_dir(factory.root).glob("*/record.json")).read_text())
    assert record["modules"][0]["module"] == long_id
