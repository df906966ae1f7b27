"""A teacher behind an OpenAI-compatible HTTP server (vLLM, Ollama, llama.cpp server, TGI, OpenAI).

Prompts go to `{base_url}/chat/completions` as messages (endpoint `chat`: the instruction as the system
message, each worked example as a user and an assistant turn, the question as the last user turn; a forced
start of the answer cannot be pre-filled portably, so the worked answers show it and the generation strips it
when repeated) or to `{base_url}/completions` as one text (endpoint `completions`).

One request per prompt, at most `max_in_flight` in flight, so a server that batches continuously (vLLM, TGI)
sees a steady stream; each worker thread keeps its connection alive between requests (no TCP or TLS handshake
per prompt). Each request has a timeout; 429, 5xx, timeouts and dropped connections are retried with
exponential backoff (honouring Retry-After), after which that request alone fails. A server that cannot be
reached, an unknown model or a refused API key raise `TeacherError` at once, since no request could succeed.
"""

import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from functools import partial

from .prompts import Prompt
from .teacher import (
    AnswerHook,
    Completion,
    Decoding,
    TeacherError,
    TeacherRequest,
    TeacherUnavailableError,
    UnknownModelError,
)

MAX_BACKOFF_S = 60.0


class _RequestFailed(Exception):
    """This request cannot succeed (e.g. HTTP 400), but others may."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class OpenAITeacher:
    keyed_by_question = False
    concurrent_calls = 2  # calls share the pool, so requests in flight stay bounded by max_in_flight

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        decoding: Decoding | None = None,
        endpoint: str = "chat",
        api_key_env: str = "",
        max_in_flight: int = 8,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
    ):
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.decoding = decoding or Decoding()
        self.endpoint = endpoint
        self.url = f"{self.base_url}/{'chat/completions' if endpoint == 'chat' else 'completions'}"
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TeacherError(
                f"base_url must be an http(s) URL such as http://gpu-host:8000/v1, got {base_url!r}"
            )
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")
        self._path = urllib.parse.urlsplit(self.url).path
        self._local = threading.local()
        self.headers = {"Content-Type": "application/json"}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise TeacherError(
                    f"the teacher's API key is read from the environment variable {api_key_env}, which is not "
                    "set: export it, or clear api_key_env for a server without keys"
                )
            self.headers["Authorization"] = f"Bearer {key}"
        self.max_in_flight = max_in_flight
        # Each call waits for its slowest request, and prompts are built and records made between calls:
        # eight rounds of requests per call keep those pauses small next to the time in flight.
        self.preferred_batch = 8 * max_in_flight
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def describe(self) -> dict:
        return {
            "backend": "openai",
            "model": self.model,
            "base_url": self.base_url,
            "endpoint": self.endpoint,
            "decoding": self.decoding.to_dict(),
        }

    def render(self, prompt: Prompt) -> str:
        if self.endpoint == "chat":
            return json.dumps(prompt.as_messages(), ensure_ascii=False)
        return prompt.as_text()

    def complete(
        self, requests: Sequence[TeacherRequest], on_answer: AnswerHook | None = None
    ) -> list[Completion]:
        if not requests:
            return []
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="teacher-http")
        futures = [
            self._pool.submit(
                self._complete_one, request.prompt, partial(on_answer, index) if on_answer else None
            )
            for index, request in enumerate(requests)
        ]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in done if f.exception() is not None), None)
        if failed is not None:
            for future in pending:
                future.cancel()
            raise failed.exception()
        return [future.result() for future in futures]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # --- one request ---
    def _body(self, prompt: Prompt) -> dict:
        d = self.decoding
        body = {"model": self.model, "max_tokens": d.max_new_tokens, "temperature": d.temperature}
        if d.top_p != 1:
            body["top_p"] = d.top_p
        if d.stop:
            body["stop"] = list(d.stop)
        if not d.greedy:
            body["seed"] = d.seed
        if self.endpoint == "chat":
            body["messages"] = prompt.as_messages()
        else:
            body["prompt"] = prompt.as_text()
        return body

    def _complete_one(
        self, prompt: Prompt, on_answer: Callable[[Completion], None] | None = None
    ) -> Completion:
        """One request, retried; its answer goes to `on_answer` (on this thread) before the call's future ends."""
        completion = self._request(prompt)
        if on_answer is not None:
            on_answer(completion)
        return completion

    def _request(self, prompt: Prompt) -> Completion:
        data = json.dumps(self._body(prompt)).encode("utf-8")
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._parse(self._post(data))
            except _Retryable as problem:
                if attempt + 1 == attempts:
                    return Completion(error=f"{problem} (gave up after {attempts} attempts)")
                delay = min(MAX_BACKOFF_S, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
                time.sleep(max(delay, problem.retry_after or 0.0))
            except _RequestFailed as problem:
                return Completion(error=str(problem))
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's connection to the server, kept alive between requests (no new handshake each time)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            factory = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            connection = self._local.connection = factory(self._netloc, timeout=self.timeout_s)
            self._local.used = False
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _send(self, method: str, path: str, data: bytes | None) -> tuple[int, bytes, http.client.HTTPMessage]:
        for fresh_try in (False, True):
            connection = self._connection()
            reused = self._local.used
            try:
                connection.request(method, path, body=data, headers=self.headers)
                response = connection.getresponse()
                body = response.read()
            except (ConnectionRefusedError, socket.gaierror) as error:
                self._drop_connection()
                raise TeacherUnavailableError(
                    f"cannot reach the teacher server at {self.url} ({error}): is it running, and is base_url "
                    "right (it usually ends in /v1)?"
                ) from None
            except TimeoutError:
                self._drop_connection()
                raise _Retryable(f"no answer within {self.timeout_s} s") from None
            except (OSError, http.client.HTTPException) as error:
                self._drop_connection()
                if reused and not fresh_try:
                    continue  # the server closed the idle kept-alive connection: send again on a new one
                raise _Retryable(f"connection dropped ({error!r})") from None
            self._local.used = True
            return response.status, body, response.headers
        raise AssertionError("unreachable")

    def _post(self, data: bytes) -> dict:
        status, body, headers = self._send("POST", self._path, data)
        if status != 200:
            self._raise_for_status(status, _error_message(body), headers)
        try:
            return json.loads(body)
        except json.JSONDecodeError as error:
            raise _RequestFailed(f"the server's answer is not JSON ({error})") from None

    def _raise_for_status(self, status: int, message: str, headers: http.client.HTTPMessage):
        if status == 429 or status >= 500:
            retry_after = headers.get("Retry-After")
            raise _Retryable(
                f"HTTP {status}: {message}",
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if status == 404:
            if "model" in message.lower():
                served = self._served_models()
                listing = f"; it serves: {', '.join(served)}" if served else ""
                raise UnknownModelError(
                    f"the teacher server at {self.base_url} does not know the model {self.model!r} "
                    f"({message}){listing}"
                )
            raise TeacherError(f"{self.url} does not exist (HTTP 404): check base_url and endpoint")
        if status in (401, 403):
            raise TeacherError(
                f"the teacher server at {self.base_url} refused the request (HTTP {status}: {message})"
            )
        raise _RequestFailed(f"HTTP {status}: {message}")

    def _served_models(self) -> list[str]:
        try:
            status, body, _ = self._send("GET", f"{self._prefix}/models", None)
            return sorted(str(m.get("id")) for m in json.loads(body).get("data", [])) if status == 200 else []
        except (TeacherError, _Retryable, ValueError, AttributeError):
            return []

    def _parse(self, payload: dict) -> Completion:
        try:
            choice = payload["choices"][0]
            text = choice["message"]["content"] if self.endpoint == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise _RequestFailed(f"unexpected answer from the server: {json.dumps(payload)[:300]}") from None
        usage = payload.get("usage") or {}
        return Completion(
            text=text or "",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )


def _error_message(body: bytes) -> str:
    """The message of an OpenAI-style error body ({"error": {"message": ...}} or {"error": "..."})."""
    text = body.decode("utf-8", "replace").strip()
    try:
        detail = json.loads(text)
    except json.JSONDecodeError:
        return text[:300]
    inner = detail.get("error", detail) if isinstance(detail, dict) else detail
    if isinstance(inner, dict):
        inner = inner.get("message") or inner
    return str(inner)[:300]
