"""The answer backends, each a LangChain chat model: `chat_model(settings)` picks one.

* `local`: llama.cpp in this process, running the packaged GGUF file. One `Llama` per
  process (loading takes seconds and 2 GB); calls to it are serialised by a lock because a
  llama.cpp context cannot serve two generations at once (concurrent users queue).
* `openai`: any OpenAI-compatible server (vLLM, `python -m llama_cpp.server`, ...).
* `ollama`: an Ollama server.

The `extractive` backend needs no model and never reaches this module.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from ingest.settings import Settings

from .model_file import ModelUnavailableError, ensure_model_file

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LlamaCppChat(BaseChatModel):
    """Chat completions from a loaded `llama_cpp.Llama`, greedy by default."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llama: Any
    lock: Any
    max_tokens: int = 256
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-in-process"

    @staticmethod
    def _to_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
        return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _params(self, stop: list[str] | None, kwargs: dict) -> dict:
        return {
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "stop": stop or [],
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self.lock:
            try:
                out = self.llama.create_chat_completion(
                    messages=self._to_dicts(messages), **self._params(stop, kwargs)
                )
            except (ValueError, RuntimeError) as exc:  # e.g. a prompt over the context
                raise BackendUnavailable(f"the local model failed: {exc}") from exc
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(content=text))],
            llm_output={"usage": out.get("usage", {})},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self.lock:
            parts = self.llama.create_chat_completion(
                messages=self._to_dicts(messages), stream=True, **self._params(stop, kwargs)
            )
            while True:
                try:  # llama.cpp's own failures only (a prompt over the context, a decode error)
                    part = next(parts)
                except StopIteration:
                    return
                except (ValueError, RuntimeError) as exc:
                    raise BackendUnavailable(f"the local model failed: {exc}") from exc
                delta = part["choices"][0]["delta"].get("content")
                if not delta:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk


@lru_cache(maxsize=2)
def _load_llama(model_path: str, n_ctx: int, n_threads: int):
    from llama_cpp import Llama

    return Llama(
        model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, n_batch=512, verbose=False
    ), threading.Lock()


class BackendUnavailable(RuntimeError):
    """The configured answer model cannot be used; the message says which and why."""


@lru_cache(maxsize=1)
def backend_errors() -> tuple[type[Exception], ...]:
    """What an answer model or its server raises when it cannot answer: missing, down,
    unreachable, too slow, refusing the request. A question is then answered without it;
    any other exception is a bug and is not hidden."""
    import httpx

    errors: list[type[Exception]] = [
        BackendUnavailable,
        ModelUnavailableError,
        ConnectionError,
        TimeoutError,
        httpx.HTTPError,
    ]
    try:
        import openai

        errors.append(openai.APIError)
    except ImportError:  # the openai backend is optional
        pass
    try:
        import ollama

        errors.append(ollama.ResponseError)
    except ImportError:  # the ollama backend is optional
        pass
    return tuple(errors)


def chat_model(settings: Settings, backend: str | None = None) -> BaseChatModel:
    backend = backend or settings.backend
    if backend == "local":
        return local_chat_model(settings)
    if backend == "openai":
        return openai_chat_model(settings)
    if backend == "ollama":
        return ollama_chat_model(settings)
    raise ValueError(f"backend {backend!r} has no chat model")


def _timeout(settings: Settings):
    import httpx

    return httpx.Timeout(settings.llm_timeout, connect=5.0)


def openai_chat_model(settings: Settings) -> BaseChatModel:
    """Chat completions from an OpenAI-compatible server; without a configured model name,
    the first model the server lists (vLLM and llama.cpp servers serve one)."""
    import os

    import httpx
    from langchain_openai import ChatOpenAI

    base = settings.openai_base_url.rstrip("/")
    key = settings.openai_api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
    model = settings.openai_model
    if not model:
        try:
            reply = httpx.get(
                f"{base}/models",
                headers={"Authorization": f"Bearer {key}"},
                timeout=_timeout(settings),
            )
            reply.raise_for_status()
            model = reply.json()["data"][0]["id"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendUnavailable(
                f"cannot list the models of the OpenAI-compatible server at {base} "
                f"({type(exc).__name__}: {exc}); set PARTNERBOT_OPENAI_MODEL or check "
                f"PARTNERBOT_OPENAI_BASE_URL"
            ) from exc
    return ChatOpenAI(
        base_url=base,
        model=model,
        api_key=key,
        temperature=0.0,
        max_tokens=settings.max_answer_tokens,
        # (connect, read, write, pool) as a plain tuple: openai 3 runs on httpx2, which
        # refuses an httpx.Timeout; both read the tuple the same way
        timeout=(5.0, settings.llm_timeout, settings.llm_timeout, settings.llm_timeout),
        max_retries=0,
    )


def ollama_chat_model(settings: Settings) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(
        base_url=settings.ollama_url,
        model=settings.ollama_model,
        temperature=0.0,
        num_predict=settings.max_answer_tokens,
        client_kwargs={"timeout": _timeout(settings)},
    )


def describe(settings: Settings, backend: str | None = None) -> str:
    """Where answers come from, for messages: "openai backend (qwen at http://...)"."""
    backend = backend or settings.backend
    if backend == "openai":
        return f"openai backend at {settings.openai_base_url}"
    if backend == "ollama":
        return f"ollama backend ({settings.ollama_model} at {settings.ollama_url})"
    return f"{backend} backend"


def local_chat_model(settings: Settings) -> LlamaCppChat:
    """The packaged model, assembled on first use and loaded once per process."""
    path = ensure_model_file(settings.llm_model, settings.model_dir)
    try:
        llama, lock = _load_llama(str(path), settings.llm_context, settings.llm_threads)
    except (ValueError, RuntimeError) as exc:  # llama.cpp cannot load the file
        raise BackendUnavailable(f"cannot load the local model {path}: {exc}") from exc
    return LlamaCppChat(llama=llama, lock=lock, max_tokens=settings.max_answer_tokens)
