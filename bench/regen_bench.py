"""Do modules regenerate concurrently? 1 module against 16 independent ones, same run.

A local OpenAI-compatible server (a separate process) answers every call after a fixed
delay (200 ms) with a scripted answer built for the module the prompt names: a plan,
the module's one file, and passing reviews. specmill talks to it through the real
openai client. For each size, a fresh repository of N independent modules is adopted,
committed, then every spec is edited, and `specmill regen` regenerates them: plan,
write, check (`true`), two verifiers, one commit.

Each `specmill regen` runs in a fresh process, as a user runs it (so each pays the
same start-up). Prints the wall time of each, their ratio (target <= 1.5: modules
regenerate concurrently), specmill's own CPU time per module (the specmill process; git
and the checks run in child processes, shown apart), and that a second `specmill regen`
on the now fresh repository makes zero model calls.

Usage: python bench/regen_bench.py [--delay 0.2] [--modules 16] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODULE = re.compile(r"module `([^`]+)`")
CONFIG = """\
[specmill]
checks = ["true"]

[specmill.models]
base_url = "{url}"
api_key_env = "BENCH_KEY"
planner = "bench-planner"
fast = "bench-fast"
standard = "bench-standard"
strong = "bench-strong"
verifiers = [{{model = "bench-reviewer-a"}}, {{model = "bench-reviewer-b"}}]
concurrency = {concurrency}
"""


# --- the server (runs in its own process: its CPU is not specmill's) -----------------


def answer(model: str, module: str) -> dict[str, Any]:
    path = f"src/{module}.py"
    if model == "bench-planner":
        return {
            "files": [{"path": path, "purpose": "the module"}],
            "public_api": [f"def {module}() -> int"],
            "steps": [{"description": "return the answer", "requirements": ["R1"]}],
            "complexity": "low",
            "ambiguities": [],
        }
    if model.startswith("bench-reviewer"):
        return {"verdict": "pass", "summary": "R1 holds.", "findings": []}
    content = f"def {module}() -> int:\n    return 42\n"
    lines = [{"start": 1, "end": 2, "requirements": ["R1"]}]
    return {"files": [{"path": path, "content": content, "requirement_lines": lines}], "notes": ""}


class Handler(BaseHTTPRequestHandler):
    delay = 0.2
    calls = 0
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # /calls: how many completions were served
        self._send({"calls": Handler.calls})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        with Handler.lock:
            Handler.calls += 1
        user = body["messages"][-1]["content"]
        module = MODULE.findall(user)[-1]
        time.sleep(Handler.delay)
        content = json.dumps(answer(body["model"], module))
        usage = {"prompt_tokens": len(user) // 4, "completion_tokens": len(content) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self._send(
            {
                "id": "bench",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        )

    def _send(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(delay: float) -> None:
    Handler.delay = delay
    ThreadingHTTPServer.request_queue_size = 256  # the default 5 drops bursts of connections
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- the benchmark ---------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def specmill(root: Path, *args: str) -> tuple[int, str]:
    """Run the CLI in this process (for setup steps)."""
    from specmill.cli.main import main

    before = Path.cwd()
    out = io.StringIO()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(list(args))
    finally:
        os.chdir(before)
    return code, out.getvalue()


def measured_regen(root: str) -> None:
    """In a fresh process, as a user runs it: `specmill regen`, then our own figures."""
    started = time.perf_counter()
    # What `specmill regen` imports anyway; done first to tell start-up from the run.
    import specmill.cli.regen
    import specmill.engine.run
    import specmill.llm.openai_backend  # noqa: F401
    from specmill.cli.main import main

    imported = time.perf_counter()
    at_start = resource.getrusage(resource.RUSAGE_SELF)
    os.chdir(root)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["regen"])
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {
        "code": code,
        "wall": time.perf_counter() - started,
        "import": imported - started,
        "startup_cpu": at_start.ru_utime + at_start.ru_stime,
        "cpu": own.ru_utime + own.ru_stime - at_start.ru_utime - at_start.ru_stime,
        "children": children.ru_utime + children.ru_stime,
        "last": out.getvalue().strip().splitlines()[-1],
    }
    print(json.dumps(figures))


def build(root: Path, modules: int, url: str, concurrency: int) -> None:
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@invalid")
    (root / "specmill.toml").write_text(CONFIG.format(url=url, concurrency=concurrency))
    (root / ".gitignore").write_text("__pycache__/\n")
    for i in range(1, modules + 1):
        name = f"mod{i:02d}"
        (root / "specs").mkdir(exist_ok=True)
        (root / "specs" / f"{name}.md").write_text(
            f"---\noutputs: [src/{name}.py]\n---\n# {name}\n- **R1** `{name}()` returns 41.\n"
        )
        (root / "src").mkdir(exist_ok=True)
        (root / "src" / f"{name}.py").write_text(f"def {name}():\n    return 41\n")
    outputs = [f"src/mod{i:02d}.py" for i in range(1, modules + 1)]
    code, out = specmill(root, "adopt", *outputs)
    assert code == 0, out
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "adopt")
    for spec in (root / "specs").glob("*.md"):  # every module is stale now
        spec.write_text(spec.read_text().replace("returns 41", "returns 42"))
    git(root, "commit", "--quiet", "-am", "the answer is 42")


def served_calls(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url.removesuffix("/v1") + "/calls") as response:
        return int(json.load(response)["calls"])


def regen(root: Path, url: str, modules: int) -> dict[str, Any]:
    calls = served_calls(url)
    process = subprocess.run(
        [sys.executable, __file__, "--regen", str(root)], capture_output=True, text=True
    )
    if process.returncode != 0:
        sys.exit(f"specmill regen failed:\n{process.stdout}{process.stderr}")
    figures: dict[str, Any] = json.loads(process.stdout.splitlines()[-1])
    if figures["code"] != 0:
        sys.exit(f"specmill regen exited {figures['code']}: {figures['last']}")
    figures["calls"] = served_calls(url) - calls
    figures["modules"] = modules
    return figures


def describe(f: dict[str, Any]) -> str:
    n = f["modules"]
    return (
        f"{n:2} module(s): {f['wall']:.2f} s wall, {f['calls']} model calls; specmill CPU"
        f" {f['cpu'] * 1000 / n:.0f} ms per module (+ {f['startup_cpu']:.2f} s start-up,"
        f" imports; git and checks: {f['children'] * 1000 / n:.0f} ms per module)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--modules", type=int, default=16)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="models.concurrency (the default: 16)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--regen", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.delay)
        return
    if args.regen:
        measured_regen(args.regen)
        return
    os.environ["BENCH_KEY"] = "bench-no-secret"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--delay", str(args.delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/v1"
        with tempfile.TemporaryDirectory(prefix="specmill-regen-bench-") as folder:
            one_root, many_root = Path(folder, "one"), Path(folder, "many")
            build(one_root, 1, url, args.concurrency)
            build(many_root, args.modules, url, args.concurrency)
            one = regen(one_root, url, 1)
            many = regen(many_root, url, args.modules)
            fresh = regen(many_root, url, args.modules)
    finally:
        server.terminate()
        server.wait()
    ratio = many["wall"] / one["wall"]
    verdict = "OK" if ratio <= 1.5 else "MISSED"
    print(f"model latency {args.delay * 1000:.0f} ms a call; models.concurrency {args.concurrency}")
    print(describe(one))
    print(describe(many))
    print(f"ratio {args.modules}/1: {ratio:.2f} (target <= 1.5: {verdict})")
    print(f"again, now fresh: {fresh['calls']} model calls ({fresh['last']})")


if __name__ == "__main__":
    main()
