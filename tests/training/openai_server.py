"""A real OpenAI-compatible HTTP server on loopback, for tests and benchmarks of the HTTP teacher.

It serves `POST /v1/chat/completions`, `POST /v1/completions` and `GET /v1/models` in a background thread.
Answers come from `reply(body) -> str` (by default a deterministic text built from the prompt); tests can
queue error answers (`fail_next`), slow answers (`delay_s`, `slow_next`) and read what was asked (`requests`)
and the most requests it had in flight at once (`max_in_flight`).
"""

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def default_reply(body: dict) -> str:
    """A deterministic answer naming the end of the prompt, so tests can tell answers apart."""
    prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
    last = prompt.strip().splitlines()[-1] if prompt.strip() else ""
    return f"Answer to: {last}\nA second line that is not kept."


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: the default 5 drops connections from many clients at once


class OpenAIServer:
    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("test-model",),
        reply: Callable[[dict], str] = default_reply,
        delay_s: float = 0.0,
        api_key: str | None = None,
    ):
        self.models = models
        self.reply = reply
        self.delay_s = delay_s
        self.api_key = api_key
        self.requests: list[dict] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._failures: deque[tuple[int, dict, dict]] = deque()
        self._slow: deque[float] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def fail_next(
        self, count: int, status: int, message: str = "try again", headers: dict | None = None
    ) -> None:
        """Answer the next `count` completion requests with `status` and an OpenAI-style error body."""
        with self._lock:
            for _ in range(count):
                self._failures.append(
                    (status, {"error": {"message": message, "code": status}}, headers or {})
                )

    def slow_next(self, count: int, delay_s: float) -> None:
        with self._lock:
            self._slow.extend([delay_s] * count)

    def __enter__(self) -> "OpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps connections alive, as real servers do
            disable_nagle_algorithm = True  # headers and body go out without waiting for an ACK

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(
                        200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}
                    )
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with server._lock:
                    server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                    failure = server._failures.popleft() if server._failures else None
                    delay = server._slow.popleft() if server._slow else server.delay_s
                try:
                    time.sleep(delay)
                    self._answer(body, failure)
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _answer(self, body: dict, failure) -> None:
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided"}})
                if self.path not in ("/v1/chat/completions", "/v1/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if body.get("model") not in server.models:
                    message = f"The model `{body.get('model')}` does not exist."
                    return self._send(404, {"error": {"message": message, "code": "model_not_found"}})
                if failure:
                    return self._send(*failure)
                text = server.reply(body)
                for stop in body.get("stop") or []:
                    text = text.split(stop)[0]
                prompt = json.dumps(body["messages"]) if "messages" in body else body["prompt"]
                usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
                choice = {"index": 0, "finish_reason": "stop"}
                if "messages" in body:
                    choice["message"] = {"role": "assistant", "content": text}
                else:
                    choice["text"] = text
                self._send(
                    200, {"object": "completion", "model": body["model"], "choices": [choice], "usage": usage}
                )

        return Handler


if __name__ == "__main__":  # serve until killed: python -m tests.training.openai_server [DELAY_S]
    import sys

    with OpenAIServer(delay_s=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as running:
        print(running.url, flush=True)
        threading.Event().wait()
