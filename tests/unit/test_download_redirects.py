"""The import's image download follows redirects by hand and checks each address: a public page
cannot send the server to a private one (an admin's CSV ``image_url`` is any address)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations import woocommerce
from integrations.woocommerce import DownloadError, download


@pytest.fixture
def server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            port = self.server.server_address[1]
            if self.path == "/to-private":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{port}/secret")
            elif self.path == "/to-public":
                self.send_response(301)
                self.send_header("Location", "/image")
            elif self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
            else:
                body = b"secret" if self.path == "/secret" else b"image-bytes"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture
def localhost_is_public(monkeypatch):
    """Here "localhost" stands for a public host and 127.0.0.1 for a private one."""
    real = woocommerce._public_host

    def check(url):
        if woocommerce.urlsplit(url).hostname == "localhost":
            return
        real(url)

    monkeypatch.setattr(woocommerce, "_public_host", check)


def test_a_redirect_to_a_private_address_is_refused(server, localhost_is_public):
    with pytest.raises(DownloadError, match="private address"):
        download(f"http://localhost:{server}/to-private", max_bytes=1000)


def test_a_redirect_on_the_public_host_is_followed(server, localhost_is_public):
    assert download(f"http://localhost:{server}/to-public", max_bytes=1000) == b"image-bytes"


def test_a_redirect_loop_ends(server, localhost_is_public):
    with pytest.raises(DownloadError, match="redirects"):
        download(f"http://localhost:{server}/loop", max_bytes=1000)


def test_a_private_address_is_refused_at_once(server):
    with pytest.raises(DownloadError, match="private address"):
        download(f"http://127.0.0.1:{server}/image", max_bytes=1000)
