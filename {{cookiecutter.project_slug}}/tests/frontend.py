"""A page on another origin, as a separate frontend (say, a dev server) serves it."""

import http.server
import threading
from collections.abc import Iterator

import pytest

PAGE = b"<!doctype html><title>Another origin</title><ol id=log></ol>"


class PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: pytest shows stderr of failing tests


@pytest.fixture(scope="session")
def frontend_origin() -> Iterator[str]:
    """http://127.0.0.1:<port>, serving PAGE; listed in the users' server's origins."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
