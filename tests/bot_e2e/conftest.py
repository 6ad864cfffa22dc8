"""End-to-end fixtures of the bot: ``specmill bot …`` on a real checkout of a real origin.

``scenario`` is GitHub as far as git is concerned: a bare repository ``origin`` (the
GitHub repository ``acme/billing``) with ``main`` (two adopted modules) and a
developer clone that pushes pull request branches to it. Each run gets a fresh
checkout of the head, as actions/checkout makes one (``ref:`` the head SHA, full
history, no credentials). The GitHub API is ``responses`` over PyGithub; the event
payloads are the full ones of ``tests/data/github`` with their SHAs replaced by the
real ones. Models answer from a script (``scenario.answers``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.conftest import git
from tests.engine.conftest import CONFIG, INVOICE, MONEY, SCRIPTED
from tests.github.gh_support import API, BASE, DATA, FORK_HEAD, HEAD1, HEAD2, NO_PAUSES, TOKEN

PY = shlex.quote(sys.executable)
BRANCH = "invoice-half-even"  # the head ref of tests/data/github/pull_request.*.json
MODEL_KEY = "sk-e2e-model-key-0123456789abcdef"
# A check that records its environment, and (so that it can fail: the sensitivity probe)
# compiles the sources as the other check does.
DUMP_ENV = """\
import compileall, json, os, sys
json.dump(dict(os.environ), open(sys.argv[1], "w"))
sys.exit(0 if compileall.compile_dir("src", quiet=1) else 1)
"""


class Scenario:
    def __init__(self, tmp: Path, models: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        self.origin = tmp / "origin.git"
        self.dev = tmp / "dev"
        self.script = tmp / "script.json"
        self.runner = tmp / "runner"  # RUNNER_TEMP
        self.env_dump = tmp / "check-env.json"
        self.runs = 0
        self.outputs: list[str] = []  # every stdout and stderr, for the secret scans
        self.runner.mkdir()
        (tmp / "dump_env.py").write_text(DUMP_ENV, encoding="utf-8")
        git(tmp, "init", "--quiet", "--bare", str(self.origin))
        self.dev.mkdir()
        self.git("init", "--quiet")
        self.git("remote", "add", "origin", str(self.origin))
        check = f"{PY} {shlex.quote(str(tmp / 'dump_env.py'))} {shlex.quote(str(self.env_dump))}"
        extra = f"checks = [{json.dumps(f'{PY} -m compileall -q src')}, {json.dumps(check)}]\n"
        config = CONFIG.format(py=PY, extra="", models=models).replace(
            f'checks = ["{PY} -m compileall -q src"]\n', extra
        )
        self.write("specmill.toml", config)
        self.write("STYLE.md", "# Style\n- Keep it simple.\n")
        self.write(".gitignore", "__pycache__/\n")
        self.write("specs/billing/money.md", MONEY)
        self.write("specs/billing/invoice.md", INVOICE)
        self.write("src/billing/money.py", "def cents(amount):\n    return round(amount * 100)\n")
        self.write("src/billing/invoice.py", "def total(items):\n    return sum(items)\n")
        self.specmill(self.dev, "adopt", "src/billing/money.py", "src/billing/invoice.py")
        self.commit("billing, adopted")
        self.git("push", "--quiet", "origin", "HEAD:refs/heads/main")
        self.base = self.head_of("main")

    # --- the developer's side -------------------------------------------------------

    def git(self, *args: str) -> str:
        return git(self.dev, *args)

    def write(self, relative: str, text: str) -> None:
        path = self.dev / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def read(self, relative: str) -> str:
        return (self.dev / relative).read_text(encoding="utf-8")

    def commit(self, message: str) -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def branch(self, name: str = BRANCH, start: str = "main") -> None:
        self.git("checkout", "--quiet", "-B", name, start)

    def push(self, ref: str = f"refs/heads/{BRANCH}") -> str:
        self.git("push", "--quiet", "--force", "origin", f"HEAD:{ref}")
        return self.git("rev-parse", "HEAD").strip()

    def head_of(self, branch: str) -> str:
        return git(self.origin, "rev-parse", f"refs/heads/{branch}").strip()

    def refs(self) -> str:
        return git(self.origin, "for-each-ref")

    def answers(self, **roles: Any) -> None:
        self.script.write_text(json.dumps(roles), encoding="utf-8")

    # --- the runner's side ----------------------------------------------------------

    def checkout(self, sha: str, ref: str = f"refs/heads/{BRANCH}") -> Path:
        """What actions/checkout does: full history, the head SHA detached, no token."""
        self.runs += 1
        path = self.tmp / f"checkout-{self.runs}"
        git(self.tmp, "clone", "--quiet", "--no-checkout", str(self.origin), str(path))
        git(path, "fetch", "--quiet", "origin", f"+{ref}:refs/remotes/pull/head")
        git(path, "checkout", "--quiet", "--detach", sha)
        return path

    def event(self, name: str, **shas: str) -> Path:
        """A payload of tests/data/github with its SHAs replaced (keys: BASE, HEAD1, …)."""
        known = {"BASE": BASE, "HEAD1": HEAD1, "HEAD2": HEAD2, "FORK_HEAD": FORK_HEAD}
        text = (DATA / name).read_text(encoding="utf-8")
        for key, sha in shas.items():
            text = text.replace(known[key], sha)
        path = self.tmp / f"event-{self.runs}-{name}"
        path.write_text(text, encoding="utf-8")
        return path

    def env(self, event_name: str, event_path: Path, *, token: str | None = TOKEN) -> None:
        setenv = self.monkeypatch.setenv
        setenv("GITHUB_REPOSITORY", "acme/billing")
        setenv("GITHUB_EVENT_NAME", event_name)
        setenv("GITHUB_EVENT_PATH", str(event_path))
        setenv("GITHUB_STEP_SUMMARY", str(self.tmp / "step-summary.md"))
        setenv("GITHUB_OUTPUT", str(self.tmp / "github-output"))
        setenv("GITHUB_RUN_ID", "555")
        setenv("RUNNER_TEMP", str(self.runner))
        if token is None:
            self.monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        else:
            setenv("GITHUB_TOKEN", token)

    def specmill(self, cwd: Path, *args: str) -> tuple[int, str, str]:
        """``specmill.cli.main.main`` in ``cwd``: the real error handling and exit codes."""
        from specmill.cli.main import main

        out, err = io.StringIO(), io.StringIO()
        old = Path.cwd()
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        finally:
            os.chdir(old)
        self.outputs += [out.getvalue(), err.getvalue()]
        return code, out.getvalue(), err.getvalue()

    def step_summary(self) -> str:
        path = self.tmp / "step-summary.md"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def leaked(self, secret: str) -> list[str]:
        """Every place ``secret`` shows up: outputs, files the run wrote, git data."""
        places = [f"output {i}" for i, text in enumerate(self.outputs) if secret in text]
        for path in sorted(self.tmp.rglob("*")):
            readable = path.is_file() and "objects" not in path.parts  # git objects: zlib
            if readable and secret in path.read_text(encoding="utf-8", errors="replace"):
                places.append(str(path.relative_to(self.tmp)))
        return places


MODELS = {
    "scripted": lambda tmp: SCRIPTED.format(script=(tmp / "script.json").as_posix()),
    "openai": lambda tmp: 'verifiers = [{model = "rev-a"}, {model = "rev-b"}]\n',
}


@pytest.fixture(autouse=True)
def _runner_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real keys or Actions variables leak in; worktrees in a temp folder of the test's."""
    import tempfile

    for name in list(os.environ):
        if name.startswith(("GITHUB_", "OPENAI_", "RUNNER_")):
            monkeypatch.delenv(name)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))

    from specmill.github import app, client

    def quick(token: str, api_url: str | None = None, **options: Any) -> Any:
        return client.make_client(token, api_url, retry=None, **NO_PAUSES)

    monkeypatch.setattr(app, "make_client", quick)  # no pauses between writes in tests


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    return Scenario(tmp_path, MODELS["scripted"](tmp_path), monkeypatch)


@pytest.fixture
def keyless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """The same repository with the openai backend, and no key anywhere."""
    return Scenario(tmp_path, MODELS["openai"](tmp_path), monkeypatch)


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every model backend replaced by one that fails the test if it is ever built."""
    return refuse_models(monkeypatch)


def refuse_models(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace every model backend by one that fails; returns the names of those built."""
    from specmill.llm import backend

    built: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def factory(*args: Any) -> Any:
            built.append(name)
            raise AssertionError(f"the {name} model backend was built")

        return factory

    for name in list(backend.BACKENDS):
        monkeypatch.setitem(backend.BACKENDS, name, refuse(name))
    return built


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


class FakeGitHub:
    """The endpoints of acme/billing's pull request, answered from ``origin``'s state."""

    def __init__(self, mock: responses.RequestsMock, scenario: Scenario) -> None:
        self.mock, self.scenario = mock, scenario
        self.base = f"{API}/repos/acme/billing"

    def pull(
        self, number: int = 42, payload: str = "pull_request.opened.json", head_ref: str = BRANCH
    ) -> None:
        """GET the pull request: its head is wherever origin's branch is right now."""
        pr = json.loads((DATA / payload).read_text(encoding="utf-8"))["pull_request"]

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            pr["head"]["sha"] = self.head(head_ref)
            pr["base"]["sha"] = self.scenario.base
            return 200, {}, json.dumps(pr)

        self.mock.add_callback("GET", f"{self.base}/pulls/{number}", callback=answer)

    def head(self, head_ref: str) -> str:
        ref = head_ref if head_ref.startswith("refs/") else f"refs/heads/{head_ref}"
        return git(self.scenario.origin, "rev-parse", ref).strip()

    def files(self, number: int = 42, head_ref: str = BRANCH) -> None:
        """GET the changed files, with GitHub's ``patch`` per file, from origin's real diff."""

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            head = self.head(head_ref)
            origin = self.scenario.origin
            start = git(origin, "merge-base", self.scenario.base, head).strip()
            names = git(origin, "diff", "--name-only", start, head).split()
            entries = []
            for name in names:
                diff = git(origin, "diff", start, head, "--", name)
                entries.append({"filename": name, "status": "modified", "patch": hunks(diff)})
            return 200, {}, json.dumps(entries)

        self.mock.add_callback("GET", f"{self.base}/pulls/{number}/files", callback=answer)

    def contents(self) -> None:
        """GET a file at a commit (``?ref=``), answered from origin's objects; 404 if none."""
        from urllib.parse import parse_qs, unquote, urlsplit

        from tests.github.gh_support import NOT_FOUND, content_json

        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            url = urlsplit(request.url)
            path = unquote(url.path.split("/contents/", 1)[1])
            ref = parse_qs(url.query)["ref"][0]
            shown = subprocess.run(
                ["git", "show", f"{ref}:{path}"], cwd=self.scenario.origin, capture_output=True
            )
            if shown.returncode != 0:
                return 404, {}, json.dumps(NOT_FOUND)
            text = shown.stdout.decode("utf-8")
            return 200, {}, json.dumps(content_json(path, text, ref))

        pattern = re.compile(re.escape(self.base) + r"/contents/.+")
        self.mock.add_callback("GET", pattern, callback=answer)

    def git_data(self) -> None:
        """GET a tree (by commit or tree SHA) and a blob, answered from origin's objects."""
        from tests.github.gh_support import NOT_FOUND, blob_json

        def tree(request: Any) -> tuple[int, dict[str, str], str]:
            sha = request.url.rsplit("/", 1)[1]
            listed = subprocess.run(
                ["git", "ls-tree", "-l", "-z", sha], cwd=self.scenario.origin, capture_output=True
            )
            if listed.returncode != 0:
                return 404, {}, json.dumps(NOT_FOUND)
            entries = []
            for row in listed.stdout.decode("utf-8").split("\0"):
                if row:
                    meta, path = row.split("\t", 1)
                    mode, kind, oid, size = meta.split()
                    url = f"https://api.github.com/repos/acme/billing/git/{kind}s/{oid}"
                    entry = {"path": path, "mode": mode, "type": kind, "sha": oid, "url": url}
                    entries.append(entry | ({"size": int(size)} if kind == "blob" else {}))
            top = git(self.scenario.origin, "rev-parse", f"{sha}^{{tree}}").strip()
            url = f"https://api.github.com/repos/acme/billing/git/trees/{top}"
            return (
                200,
                {},
                json.dumps({"sha": top, "url": url, "tree": entries, "truncated": False}),
            )

        def blob(request: Any) -> tuple[int, dict[str, str], str]:
            sha = request.url.rsplit("/", 1)[1]
            shown = subprocess.run(
                ["git", "cat-file", "blob", sha], cwd=self.scenario.origin, capture_output=True
            )
            if shown.returncode != 0:
                return 404, {}, json.dumps(NOT_FOUND)
            return 200, {}, json.dumps(blob_json(sha, shown.stdout))

        for kind, answer in (("trees", tree), ("blobs", blob)):
            pattern = re.compile(re.escape(self.base) + rf"/git/{kind}/[0-9a-f]{{40}}$")
            self.mock.add_callback("GET", pattern, callback=answer)

    def reads(
        self,
        number: int = 42,
        *,
        review_comments: list[dict[str, Any]] | None = None,
        issue_comments: list[dict[str, Any]] | None = None,
        payload: str = "pull_request.opened.json",
        head_ref: str = BRANCH,
    ) -> None:
        """The four reads of a publish, in order."""
        self.pull(number, payload, head_ref)
        self.files(number, head_ref)
        self.add("GET", f"/pulls/{number}/comments", review_comments or [])
        self.add("GET", f"/issues/{number}/comments", issue_comments or [])

    def add(self, method: str, path: str, body: Any, status: int = 200) -> None:
        url: Any = f"{self.base}{path}"
        if "{sha}" in path:
            url = re.compile(re.escape(self.base) + path.replace("{sha}", "[0-9a-f]{40}") + "$")
        self.mock.add(method, url, json=body, status=status)

    def calls(self) -> list[tuple[str, str]]:
        prefix = self.base.replace(":443", "")
        return [
            (c.request.method, c.request.url.replace(":443", "").replace(prefix, "").split("?")[0])
            for c in self.mock.calls
        ]

    def body(self, method: str, path: str) -> Any:
        """The JSON body of the one call to ``path`` (ending in "/": any path below it)."""
        found = [
            json.loads(call.request.body)
            for call, (made, at) in zip(self.mock.calls, self.calls(), strict=True)
            if made == method and (at == path or (path.endswith("/") and at.startswith(path)))
        ]
        assert len(found) == 1, f"{len(found)} calls to {method} {path}"
        return found[0]


def hunks(diff: str) -> str:
    """A ``git diff`` of one file as GitHub's ``patch`` field: from the first hunk on."""
    return diff[diff.index("@@") :].rstrip("\n") if "@@" in diff else ""


@pytest.fixture
def github(api: responses.RequestsMock, scenario: Scenario) -> FakeGitHub:
    return FakeGitHub(api, scenario)
