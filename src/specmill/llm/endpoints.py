"""Where a model call goes: the base URL, its key, and the SDK client for the pair."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import openai

from specmill.core.config import ModelsConfig
from specmill.llm.errors import ModelError
from specmill.secret_file import secret

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's, when OPENAI_BASE_URL is unset
# Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the SDK refuses to start
# without one.
PLACEHOLDER_KEY = "specmill-no-key"


@dataclass(frozen=True)
class Endpoint:
    client: openai.OpenAI
    base_url: str
    host: str  # host[:port] only: URLs may carry credentials
    key_env: str
    secret: str = field(repr=False)  # never shown; scrubbed from what servers say

    def scrub(self, said: str) -> str:
        """What a server said, without the key (a server may echo it)."""
        return said.replace(self.secret, "***") if self.secret else said


def resolve_base_url(models: ModelsConfig, override: str | None = None) -> str:
    """Where a call goes: the override, models.base_url, OPENAI_BASE_URL, else OpenAI."""
    return (
        override
        or models.base_url
        or os.environ.get("OPENAI_BASE_URL")  # an empty value (CI's unset secret) is unset
        or DEFAULT_BASE_URL
    ).rstrip("/")


def host_of(base_url: str) -> str:
    """host[:port] only: URLs may carry credentials."""
    parts = urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def open_endpoint(
    base_url: str, key_env: str, *, timeout: float, label: str, model: str
) -> Endpoint:
    """A client for the endpoint, its key read now; OpenAI itself needs one."""
    host = host_of(base_url)
    key = secret(key_env) or ""  # handed over in a file by the action, or exported
    if not key and base_url == DEFAULT_BASE_URL:
        raise ModelError(
            f"{label}: no API key. Set the environment variable {key_env},"
            " or point models.base_url (or OPENAI_BASE_URL) at an OpenAI-compatible"
            " server that needs none (Ollama, vLLM, llama.cpp).",
            model=model,
            host=host,
        )
    client = openai.OpenAI(
        api_key=key or PLACEHOLDER_KEY,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,  # the backend retries, with its own policy
    )
    return Endpoint(client, base_url, host, key_env, key)
