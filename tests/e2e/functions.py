"""Task targets for the end-to-end tests: real HTTP servers on 127.0.0.1.

Each test registers what a function does (answer, fail, sleep until its caller hangs up) and
reads back what happened: the requests received, and when a caller closed a connection while the
function was still working.
"""

import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Call:
    def __init__(self, path, headers, body):
        self.path = path
        self.headers = headers
        self.body = body
        self.received_at = time.monotonic()
        self.closed_at = None  # when the caller closed the connection mid-call
        self.answered_at = None  # when the function's answer was written

    def header(self, name):
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class QuietServer(ThreadingHTTPServer):
    """A caller that dies mid-request (a killed sluice node) is expected here, not an error."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FunctionServer:
    """Functions by path (`/{service}/{function}`); each is `fn(call) -> (status, body)`."""

    def __init__(self):
        self.functions = {}
        self.calls = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                call = Call(self.path, dict(self.headers), json.loads(raw or b"{}"))
                with server.lock:
                    server.calls.append(call)
                function = server.functions.get(self.path)
                if function is None:
                    status, body = 404, {"errorCode": "NoSuchFunction", "errorMessage": self.path}
                else:
                    status, body = function(call, self.connection)
                if body is None:
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                call.answered_at = time.monotonic()

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url_template(self):
        return f"http://127.0.0.1:{self.port}/{{service}}/{{function}}"

    def register(self, path, function):
        self.functions[path] = function

    def calls_to(self, path):
        with self.lock:
            return [c for c in self.calls if c.path == path]

    def close(self):
        self.httpd.shutdown()


def answer(value):
    return lambda call, conn: (200, value)


def echo():
    return lambda call, conn: (200, call.body)


def fail(code, message="failed on purpose"):
    return lambda call, conn: (500, {"errorCode": code, "errorMessage": message})


def hang(max_seconds=30):
    """Never answers; records when the caller hangs up."""
    return work(max_seconds, lambda call: (200, {"late": True}))


def work(seconds, then):
    """Works for `seconds`, watching for the caller to hang up (recorded), then answers
    `then(call)`."""

    def function(call, conn):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            readable, _, _ = select.select([conn], [], [], 0.005)
            if readable:
                try:
                    if conn.recv(1, socket.MSG_PEEK) == b"":
                        call.closed_at = time.monotonic()
                        return 0, None
                except OSError:
                    call.closed_at = time.monotonic()
                    return 0, None
        call.answered_at = time.monotonic()  # the work is done; writing the answer may fail
        return then(call)

    return function
