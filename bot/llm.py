"""The in-process LLM as a LangChain chat model: llama.cpp running the packaged GGUF file.

One `Llama` per process (loading takes seconds and 2 GB); calls to it are serialised by a
lock because a llama.cpp context cannot serve two generations at once.
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

from .model_file import ensure_model_file

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
        return {"max_tokens": kwargs.get("max_tokens", self.max_tokens),
                "temperature": kwargs.get("temperature", self.temperature),
                "stop": stop or []}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        with self.lock:
            out = self.llama.create_chat_completion(messages=self._to_dicts(messages),
                                                    **self._params(stop, kwargs))
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))],
                          llm_output={"usage": out.get("usage", {})})

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with self.lock:
            for part in self.llama.create_chat_completion(messages=self._to_dicts(messages),
                                                          stream=True, **self._params(stop, kwargs)):
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

    return Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, n_batch=512,
                 verbose=False), threading.Lock()


def local_chat_model(settings: Settings) -> LlamaCppChat:
    """The packaged model, assembled on first use and loaded once per process."""
    path = ensure_model_file(settings.llm_model, settings.model_dir)
    llama, lock = _load_llama(str(path), settings.llm_context, settings.llm_threads)
    return LlamaCppChat(llama=llama, lock=lock, max_tokens=settings.max_answer_tokens)
