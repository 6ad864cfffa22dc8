"""``specmill doctor`` against local OpenAI-compatible servers, through the real SDK."""

from __future__ import annotations

import json
import socket
from collections import deque
from collections.abc import Iterator

import pytest

from tests.engine.openai_server import Endpoint, serve
from tests.llm.server_refusals import FORMAT_REFUSALS

MODELS = {
    "planner": "m-plan",
    "fast": "m-fast",
    "standard": "m-plan",  # the same model as the planner: asked once
    "strong": "m-strong",
}
OK = {"ok": True}


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[Endpoint]:
    with serve() as endpoint:
        endpoint.models = [*MODELS.values(), "m-review"]
        yield endpoint
    assert endpoint.unexpected == 0


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def configure(project, url: str, verifier_url: str | None = None, **extra: str) -> None:
    roles = {**MODELS, **extra}
    second = f', base_url = "{verifier_url}"' if verifier_url else ""
    project.write(
        "specmill.toml",
        "[specmill]\n[specmill.models]\n"
        f'base_url = "{url}"\n'
        + "".join(f'{role} = "{model}"\n' for role, model in roles.items())
        + f'verifiers = [{{model = "m-review"}}, {{model = "m-review"{second}}}]\n'
        + 'prices = { "m-plan" = { input = 2.0, output = 8.0 } }\n'
        + "max_retries = 0\n",
    )


def answer_all(server: Endpoint) -> None:
    for model in {*MODELS.values(), "m-review"}:
        server.answer(model, OK)


def test_every_role_works(project, server):
    configure(project, server.url)
    answer_all(server)

    code, out, err = project.main("doctor")

    assert code == 0, err
    for role in ("planner", "fast", "standard", "strong", "verifier 1", "verifier 2"):
        assert role in out
    assert out.count("json_schema") == 6
    assert "6 roles, 6 ok" in out
    # one call per distinct model on an endpoint: m-plan, m-fast, m-strong, m-review
    assert len(server.requests) == 4
    assert "4,400 tokens" in out  # each call's usage is 1,000 + 100 tokens
    assert server.listings == 1  # one GET /models for the one endpoint


def test_json_output(project, server):
    configure(project, server.url)
    answer_all(server)

    code, out, _ = project.main("doctor", "--json")

    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True and report["tokens"] == 4400
    planner = report["roles"][0]
    assert planner["role"] == "planner" and planner["model"] == "m-plan"
    assert planner["mode"] == "json_schema" and planner["status"] == "ok"
    assert planner["reachable"] is True and planner["listed"] is True
    assert planner["priced"] is True and report["roles"][1]["priced"] is False
    assert planner["cost_usd"] == pytest.approx((1000 * 2.0 + 100 * 8.0) / 1e6)
    assert planner["latency_s"] > 0
    assert planner["key"] == "not needed"


def test_a_role_whose_endpoint_is_down_fails_naming_the_role(project, server):
    configure(project, server.url, verifier_url=closed_port_url())
    answer_all(server)

    code, out, err = project.main("doctor")

    assert code == 1
    assert "verifier 2: cannot work: could not connect to 127.0.0.1:" in err
    assert "check models.base_url" in err and "the server is running" in err
    assert "verifier 1: cannot work" not in err
    assert "5 ok" in out


def test_no_calls_checks_configuration_and_reachability_only(project, server):
    configure(project, server.url, verifier_url=closed_port_url())

    code, out, _ = project.main("doctor", "--no-calls", "--json")

    assert code == 1
    assert server.requests == []  # no chat call at all
    report = json.loads(out)
    assert [role["mode"] for role in report["roles"]] == [None] * 6
    assert [role["status"] for role in report["roles"]][-1] == "cannot work"
    assert report["tokens"] == 0


def test_the_negotiated_mode_is_reported(project, server):
    llama = next(r for r in FORMAT_REFUSALS if r.server == "llama-cpp-python")
    configure(project, server.url)
    server.refuse("m-plan", llama.status, llama.body)
    answer_all(server)

    code, out, _ = project.main("doctor", "--json")

    assert code == 0
    modes = {role["role"]: role["mode"] for role in json.loads(out)["roles"]}
    assert modes["planner"] == modes["standard"] == "json_object_schema"
    assert modes["fast"] == "json_schema"
    sent = [r for r in server.requests if r["model"] == "m-plan"]
    assert [r["response_format"]["type"] for r in sent] == ["json_schema", "json_object"]


def test_a_model_the_server_does_not_serve(project, server):
    configure(project, server.url, fast="m-typo")
    for model in ("m-plan", "m-strong", "m-review"):
        server.answer(model, OK)

    code, _, err = project.main("doctor")

    assert code == 1
    assert "fast: cannot work:" in err and "does not serve the model 'm-typo'" in err
    assert "models.fast" in err and "m-plan" in err


def test_no_key_for_openai_is_reported_without_a_call(project):
    project.write("specmill.toml", "[specmill]\n")

    code, out, _ = project.main("doctor", "--json")

    assert code == 1
    roles = json.loads(out)["roles"]
    assert all(role["key"] == "missing" and role["reachable"] is None for role in roles)
    assert "set the environment variable OPENAI_API_KEY" in roles[0]["problems"][0]


def test_hostile_model_names_and_server_text_are_shown_not_interpreted(project, server):
    hostile = "[bold red]m\x1b[31m"
    server.models = ["evil\x1b]0;pwned\x07\nnext", "m-plan"]
    configure(project, server.url, fast=hostile.replace("\x1b", "\\u001b"))

    code, out, err = project.main("doctor", "--no-calls")

    assert code == 1
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "[bold red]m" in out  # shown literally, not as rich markup
    assert "evil?]0;pwned? next" in err


def test_the_scripted_backend_has_nothing_to_check(project):
    models = '[specmill.models]\nbackend = "scripted"\nscript = "answers.yaml"\n'
    project.write("specmill.toml", "[specmill]\n" + models)

    code, out, _ = project.main("doctor")

    assert code == 0 and "no endpoint to check" in out


def test_a_server_without_a_model_list_is_asked_anyway(project, server):
    server.models = None  # GET /models is a 404 here
    configure(project, server.url)
    answer_all(server)

    code, out, _ = project.main("doctor", "--json")

    assert code == 0
    roles = json.loads(out)["roles"]
    assert all(role["listed"] is None and role["mode"] == "json_schema" for role in roles)


def test_no_key_is_said_once_for_every_role_it_stops(project):
    project.write("specmill.toml", "[specmill]\n")

    code, _, err = project.main("doctor", "--no-calls")

    assert code == 1
    assert err.splitlines() == [
        "planner, fast, standard, strong, verifier 1, verifier 2: cannot work: set the "
        "environment variable OPENAI_API_KEY (OpenAI needs a key), or point models.base_url "
        "at a server that needs none"
    ]


def test_the_table_fits_80_columns_one_line_per_role(project, server):
    import io

    from rich.console import Console

    from specmill.cli.doctor import print_checks
    from specmill.core.project import load_config
    from specmill.engine.doctor import diagnose

    configure(project, server.url, verifier_url=closed_port_url())
    answer_all(server)
    checks, _ = diagnose(load_config(project.root)[0], environ={})
    out = io.StringIO()
    print_checks(checks, calls=True, console=Console(file=out, width=80, highlight=False))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    roles = ("planner", "fast", "standard", "strong", "verifier 1", "verifier 2")
    rows = [line.split() for line in lines if line.startswith(roles)]
    assert [row[:3] for row in rows[:2]] == [
        ["planner", "m-plan", "[1]"],
        ["fast", "m-fast", "[1]"],
    ]
    assert rows[1][3] == "json_schema" and rows[1][-1] == "ok"
    assert rows[-1][:4] == ["verifier", "2", "m-review", "[2]"] and rows[-1][-1] == "fail"
    assert len(rows) == 6  # one line per role: no cell wrapped onto a second line


def test_each_role_shows_its_context_window_and_whether_it_streams(project, server):
    """llama-server: the window from /props, answers streamed with usage."""
    from tests.llm.server_refusals import LLAMA_SERVER_PROPS

    server.props = LLAMA_SERVER_PROPS
    configure(project, server.url)
    answer_all(server)

    code, out, _ = project.main("doctor", "--json")

    assert code == 0
    roles = json.loads(out)["roles"]
    assert {(r["context_window"], r["context_source"]) for r in roles} == {
        (8192, "llama.cpp /props")
    }
    assert {r["streaming"] for r in roles} == {"yes"}
    assert all(request.get("stream") is True for request in server.requests)
    answer_all(server)
    code, out, _ = project.main("doctor")
    row = next(line.split() for line in out.splitlines() if line.startswith("planner"))
    assert row[2:4] == ["json_schema", "yes"] and row[4] == "8k"  # the table's short form


def test_a_server_that_does_not_stream_or_say_its_window_is_shown_as_such(project, server):
    from tests.engine.openai_server import Reply

    configure(project, server.url)
    for model in {*MODELS.values(), "m-review"}:
        server.answers.setdefault(model, deque()).append(Reply(content='{"ok": true}', stream=None))

    code, out, _ = project.main("doctor", "--json")

    assert code == 0
    roles = json.loads(out)["roles"]
    assert {r["streaming"] for r in roles} == {"no"}
    assert {r["context_window"] for r in roles} == {None}


@pytest.mark.parametrize(
    ("window", "shown"),
    [
        (None, "-"),
        (512, "512"),
        (8192, "8k"),
        (128_000, "128k"),
        (1_000_000, "1M"),
        (1_047_576, "1M"),
        (2_097_152, "2.1M"),
    ],
)
def test_a_context_window_is_shown_short_in_the_table(window, shown):
    from specmill.cli.doctor import _tokens

    assert _tokens(window) == shown
