"""Language models that write generative answers, behind one small interface.

`TransformersGenerator` runs a causal language model with a chat template,
loaded by transformers from a folder or a hub name (on the GPU when there is
one); `OpenAIGenerator` is a client of any OpenAI-compatible
`/v1/chat/completions` server (llama.cpp, vLLM, Ollama, LM Studio…) over HTTP
with the standard library. Both can stream. `load_generator` picks one from
the `LLMConfig`. Failing to load or reach a model is a `GenerationError` naming
it, never a silent fallback.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..config import LLMConfig

Message = dict[str, str]

_HUB_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")

DEFAULT_TIMEOUT_S = LLMConfig().timeout_s


class GenerationError(RuntimeError):
    """The language model could not be loaded or reached; the message names it."""


class _NotLoadable(GenerationError):
    """The model's files could not be found or read."""


class OutputLimit(GenerationError):
    """The model wrote past a bound (tokens, bytes, time): it was cut off; `text` is what
    had arrived. The pipeline answers extractively instead, saying why."""

    def __init__(self, reason: str, text: str):
        super().__init__(reason)
        self.reason = reason
        self.text = text


def bounded(pieces: Iterator[str], config: LLMConfig, clock=None) -> Iterator[str]:
    """The pieces of a streamed answer while they stay within `config`'s bounds
    (`max_new_tokens` pieces, twice over for servers that split tokens; `max_bytes`;
    `deadline_s` for the whole answer); past one, the stream is closed and
    OutputLimit raised."""
    import time

    clock = clock or time.monotonic
    start, size, count, text = clock(), 0, 0, ""
    try:
        for piece in pieces:
            count += 1
            size += len(piece.encode("utf-8"))
            text += piece
            if size > config.max_bytes:
                raise OutputLimit(f"the language model wrote more than {config.max_bytes} bytes", text)
            if count > 2 * config.max_new_tokens:
                raise OutputLimit(f"the language model wrote more than {config.max_new_tokens} tokens", text)
            if clock() - start > config.deadline_s:
                raise OutputLimit(f"the language model did not finish within {config.deadline_s:g} s", text)
            yield piece
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # stops the generator reading from the server


class Generator(Protocol):
    """What the composer needs from a language model."""

    name: str  # the model (and server) in messages

    def check(self) -> None: ...

    def generate(self, messages: Sequence[Message], max_new_tokens: int) -> str: ...

    def stream(self, messages: Sequence[Message], max_new_tokens: int) -> Iterator[str]: ...


# ---------------------------------------------------------------- transformers backend


class TransformersGenerator:
    """A causal language model with a chat template, run by transformers (greedy decoding)."""

    def __init__(self, model: Any, tokenizer: Any, name: str, device: str, deadline_s: float | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.deadline_s = deadline_s  # generation stops there (transformers' max_time)

    @classmethod
    def load(cls, name: str, device: str | None = None) -> "TransformersGenerator":
        """The model in folder `name`, or hub model `name` (from the cache, else downloaded
        unless HF_HUB_OFFLINE is set); on `device`, else the GPU when there is one."""
        import os

        path = Path(name).expanduser()
        unknown = (f"cannot load language model {name!r}: not a model folder, and not a model in the "
                   "Hugging Face cache or on the hub (give a folder with config.json and a tokenizer, "
                   "or a hub name such as Qwen/Qwen2.5-0.5B-Instruct on a machine that can download it)")
        if path.is_dir():
            return cls._from(str(path), name, device, {})
        if path.exists():
            raise GenerationError(f"language model {name!r} is a file; give a model folder or a hub name")
        if not _HUB_NAME.match(name) or name.startswith((".", "/", "~")):
            raise GenerationError(unknown)
        try:
            return cls._from(name, name, device, {"local_files_only": True})
        except _NotLoadable:
            pass
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
            raise GenerationError(unknown + "; HF_HUB_OFFLINE is set")
        from ..embed import hub_reachable

        if not hub_reachable():  # else the hub client retries for most of a minute before failing
            raise GenerationError(unknown + "; the hub cannot be reached from this machine")
        try:
            return cls._from(name, name, device, {})
        except _NotLoadable as e:
            raise GenerationError(unknown) from e

    @classmethod
    def _from(cls, source: str, name: str, device: str | None, options: dict) -> "TransformersGenerator":
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        # transformers 4.56 renamed torch_dtype to dtype
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        dtype_arg = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        hf_logging.disable_progress_bar()
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **options)
            model = AutoModelForCausalLM.from_pretrained(source, **{dtype_arg: dtype}, **options)
        except (OSError, ValueError, KeyError) as e:
            raise _NotLoadable(f"cannot load language model {name!r}: {_one_line(e)}") from e
        finally:
            hf_logging.enable_progress_bar()
        if not getattr(tokenizer, "chat_template", None):
            raise GenerationError(f"language model {name!r} has no chat template: use an instruction-tuned "
                                  "(chat) model, or add a chat_template to its tokenizer_config.json")
        model.to(device).eval()
        return cls(model, tokenizer, name, device)

    def check(self) -> None:
        """Loaded models are ready: nothing to check."""

    def _inputs(self, messages: Sequence[Message], max_new_tokens: int) -> dict:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        try:
            enc = self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True,
                                                     return_tensors="pt", return_dict=True)
        except Exception:  # some templates (Gemma's) refuse a system turn: fold it into the first user turn
            if not messages or messages[0]["role"] != "system":
                raise
            enc = self.tokenizer.apply_chat_template(_without_system(messages), add_generation_prompt=True,
                                                     return_tensors="pt", return_dict=True)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        n = int(enc["input_ids"].shape[1])
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and n + max_new_tokens > limit:
            raise GenerationError(f"the prompt ({n} tokens) and {max_new_tokens} new tokens exceed the context of "
                                  f"language model {self.name!r} ({limit} tokens): lower k or max_new_tokens")
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        # greedy: the same question gets the same answer; sampling knobs unset so
        # a model shipped with sampling defaults does not warn
        bounds = {"max_time": self.deadline_s} if self.deadline_s else {}
        return {**enc, "max_new_tokens": max_new_tokens, "do_sample": False, "temperature": None,
                "top_p": None, "top_k": None, "pad_token_id": pad, **bounds}

    def generate(self, messages: Sequence[Message], max_new_tokens: int) -> str:
        import torch

        inputs = self._inputs(messages, max_new_tokens)
        with torch.inference_mode():
            out = self.model.generate(**inputs)
        new = out[0][inputs["input_ids"].shape[1]:]
        return self.tokenizer.decode(new, skip_special_tokens=True).strip()

    def stream(self, messages: Sequence[Message], max_new_tokens: int) -> Iterator[str]:
        """Pieces of text as the model writes them (generation runs in a thread)."""
        import torch
        from transformers import TextIteratorStreamer

        inputs = self._inputs(messages, max_new_tokens)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**inputs, streamer=streamer)
            except BaseException as e:  # surfaced in the caller's thread below
                failure.append(e)
                streamer.end()

        thread = threading.Thread(target=run, name="renvoi-generate", daemon=True)
        thread.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            thread.join()
        if failure:
            raise GenerationError(f"language model {self.name!r} failed: {_one_line(failure[0])}") from failure[0]


def _without_system(messages: Sequence[Message]) -> list[Message]:
    """The messages with the system turn's text put before the first user turn's."""
    system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
    first = next((m for m in rest if m["role"] == "user"), None)
    if first is None:
        return [{"role": "user", "content": system}, *rest]
    first["content"] = f"{system}\n\n{first['content']}"
    return rest


# ---------------------------------------------------------------- OpenAI-compatible server


def chat_endpoint(url: str) -> str:
    """The chat-completions URL of a server given as its base ("http://host:8080/v1"),
    its root ("http://host:8080") or the endpoint itself."""
    parts = urllib.parse.urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the LLM server URL must be an http(s) URL such as http://127.0.0.1:8080/v1, not {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path = (path or "/v1") + "/chat/completions"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAIGenerator:
    """A client of an OpenAI-compatible chat-completions server (temperature 0)."""

    def __init__(self, url: str, model: str, timeout: float = DEFAULT_TIMEOUT_S, api_key: str | None = None,
                 max_bytes: int = LLMConfig().max_bytes):
        if not model or not model.strip():
            raise ValueError("the LLM server needs a model name (--llm-model)")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.endpoint = chat_endpoint(url)
        self.model = model.strip()
        self.timeout = timeout
        # What is read of one response at most: the answer's bytes and the JSON around them.
        self.read_limit = 4 * max_bytes + 65_536
        self.api_key = api_key
        self.name = f"{self.model} at {self.endpoint}"
        host = urllib.parse.urlsplit(self.endpoint).hostname
        # a proxy set for the outside world must not catch a server on this machine
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(host) else []
        self._opener = urllib.request.build_opener(*handlers)

    def _request(self, path: str | None, payload: dict | None) -> Any:
        url = self.endpoint if path is None else self.endpoint.rsplit("/chat/completions", 1)[0] + path
        headers = {"Accept": "application/json, text/event-stream"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
        try:
            return self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            body = _one_line(e.read(300).decode("utf-8", "replace")) if e.fp else ""
            raise GenerationError(f"the LLM server at {url} answered HTTP {e.code} {e.reason}"
                                  + (f": {body}" if body else "")) from e
        except urllib.error.URLError as e:
            raise self._unreachable(url, e.reason) from e
        except (OSError, http.client.HTTPException) as e:  # timeouts and resets are OSErrors
            raise self._unreachable(url, e) from e

    def _unreachable(self, url: str, reason: object) -> GenerationError:
        if isinstance(reason, TimeoutError | socket.timeout):
            return GenerationError(f"the LLM server at {url} did not answer within {self.timeout:g} s")
        return GenerationError(f"cannot reach the LLM server at {url} ({_one_line(reason)})")

    def check(self) -> None:
        """Raise GenerationError unless the server answers (any HTTP status will do)."""
        try:
            with self._request("/models", None):
                pass
        except GenerationError as e:
            if "answered HTTP" not in str(e):
                raise

    def _payload(self, messages: Sequence[Message], max_new_tokens: int, stream: bool) -> dict:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        return {"model": self.model, "messages": list(messages), "max_tokens": max_new_tokens,
                "temperature": 0, "stream": stream}

    def generate(self, messages: Sequence[Message], max_new_tokens: int) -> str:
        with self._request(None, self._payload(messages, max_new_tokens, stream=False)) as response:
            raw = self._read(response)
        return self._content(raw, "message").strip()

    def stream(self, messages: Sequence[Message], max_new_tokens: int) -> Iterator[str]:
        """Pieces of the answer as server-sent events bring them (a server that
        answers in one JSON body yields it whole)."""
        with self._request(None, self._payload(messages, max_new_tokens, stream=True)) as response:
            if "text/event-stream" not in (response.headers.get("Content-Type") or ""):
                yield self._content(self._read(response), "message")
                return
            try:
                while True:
                    raw = response.readline(self.read_limit + 1)
                    if not raw:
                        return
                    if len(raw) > self.read_limit:
                        raise OutputLimit(f"the LLM server at {self.endpoint} sent an event over {self.read_limit} "
                                          "bytes", "")
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue  # comments, event names, keep-alives
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    piece = self._content(data, "delta")
                    if piece:
                        yield piece
            except (OSError, http.client.HTTPException) as e:
                raise self._unreachable(self.endpoint, e) from e

    def _read(self, response: Any) -> str:
        try:
            body = response.read(self.read_limit + 1)
        except (OSError, http.client.HTTPException) as e:
            raise self._unreachable(self.endpoint, e) from e
        if len(body) > self.read_limit:
            raise OutputLimit(f"the LLM server at {self.endpoint} answered with over {self.read_limit} bytes", "")
        return body.decode("utf-8", "replace")

    def _content(self, raw: str, key: str) -> str:
        try:
            obj = json.loads(raw)
            if "error" in obj and "choices" not in obj:
                detail = obj["error"].get("message") if isinstance(obj["error"], dict) else obj["error"]
                raise GenerationError(f"the LLM server at {self.endpoint} reported an error: {_one_line(detail)}")
            choices = obj["choices"]
            if not choices:
                return ""
            return (choices[0].get(key) or {}).get("content") or ""
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
            raise GenerationError(f"the LLM server at {self.endpoint} did not send a chat completion "
                                  f"({_one_line(raw[:120])!r})") from e


def load_generator(config: LLMConfig) -> Generator:
    """The generator `config` names (`model`: transformers; `url` + `server_model`: a server)."""
    if config.model:
        generator = TransformersGenerator.load(config.model)
        generator.deadline_s = config.deadline_s
        return generator
    if config.url:
        return OpenAIGenerator(config.url, config.server_model or "", timeout=min(config.timeout_s, config.deadline_s),
                               max_bytes=config.max_bytes)
    raise ValueError("no language model configured: give --llm MODEL, or --llm-url URL with --llm-model NAME")


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


