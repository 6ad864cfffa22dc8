"""Model access: validated, budgeted, retried calls to chat models.

The engine builds a backend with ``make_backend(config.models, config.budget,
repo_root=...)`` and calls ``backend.complete(ChatRequest(...))`` from any thread.
Importing this package does not import openai (only the openai backend does).
"""

from specmill.llm.backend import BACKENDS, ChatBackend, ChatRequest, ChatResponse, make_backend
from specmill.llm.budget import Budget
from specmill.llm.errors import (
    BudgetExceeded,
    InvalidAnswerError,
    LLMError,
    ModelError,
    ScriptExhaustedError,
)

__all__ = [
    "BACKENDS",
    "Budget",
    "BudgetExceeded",
    "ChatBackend",
    "ChatRequest",
    "ChatResponse",
    "InvalidAnswerError",
    "LLMError",
    "ModelError",
    "ScriptExhaustedError",
    "make_backend",
]
