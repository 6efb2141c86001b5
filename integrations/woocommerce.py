"""WooCommerce's REST API v3, read only, through WooCommerce's own Python wrapper (``woocommerce``
on PyPI: ``API(url, consumer_key, consumer_secret, version="wc/v3")``, built on ``requests``).

What this module assumes of WooCommerce (https://woocommerce.github.io/woocommerce-rest-api-docs/):

* Base ``{site}/wp-json/wc/v3/``. Over https the wrapper sends the key and secret as HTTP Basic
  auth; over plain http (a test fake, a local site) as an OAuth 1.0a signature, so the secret is
  never in a URL either way (``query_string_auth`` stays off: query strings end up in logs). (Over
  http the wrapper puts the list parameters in the signed URL and requests adds them again: the
  same values twice, which WordPress reads as one, so the signature still matches.)
* Lists take ``per_page`` (at most 100) and ``page`` (from 1) and answer a JSON array with the
  headers ``X-WP-Total`` (items) and ``X-WP-TotalPages``; we follow ``X-WP-TotalPages``.
* ``products/categories`` {id, name, slug, parent (0 = top), description}; ``products/tags``
  {id, name, slug}; ``products/attributes`` {id, name, slug}; ``products`` {id, name, slug,
  type (simple | variable | grouped | external), status, description, short_description, sku,
  price, regular_price, sale_price (decimal strings, "" when unset), virtual, downloadable,
  manage_stock, stock_quantity, stock_status, categories [{id}], tags [{id}], images [{id, src}],
  attributes [{id, name, options}], variations [ids], date_modified};
  ``products/{id}/variations`` {id, sku, price, regular_price, virtual, downloadable,
  manage_stock (true | false | "parent"), stock_quantity, stock_status, image {id, src},
  attributes [{id, name, option}], date_modified}.
* Errors are JSON ``{"code", "message", "data": {"status"}}``. 429 and 5xx are worth retrying:
  ``Retry-After`` (seconds) is honoured when sent, else exponential backoff; bounded attempts.

Images are plain HTTP GETs of their ``src`` (``download``): streamed, refused above a byte limit
or after a time limit, private and loopback addresses refused unless allowed (tests).
"""
from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from woocommerce import API

PER_PAGE_MAX = 100
RETRY_STATUSES = {429, 500, 502, 503, 504}


class WooError(Exception):
    """WooCommerce answered with an error (or could not be reached after the retries)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Page:
    items: list[dict]
    page: int
    total_pages: int
    total: int


class WooClient:
    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *, timeout: float = 20,
                 max_attempts: int = 5, backoff: float = 1.0, max_wait: float = 30,
                 sleep: Callable[[float], None] = time.sleep):
        self._api = API(url=url.rstrip("/"), consumer_key=consumer_key, consumer_secret=consumer_secret,
                        version="wc/v3", timeout=timeout, query_string_auth=False)
        self.max_attempts, self.backoff, self.max_wait, self.sleep = max_attempts, backoff, max_wait, sleep

    def get(self, endpoint: str, params: dict | None = None) -> requests.Response:
        """One GET, retried politely on 429/5xx and connection errors."""
        last = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._api.get(endpoint, params=dict(params or {}))
            except requests.RequestException as exc:  # refused, reset, timed out
                last = WooError(f"WooCommerce could not be reached ({type(exc).__name__})")
                wait = None
            else:
                if response.status_code < 400:
                    return response
                message = _message(response)
                last = WooError(f"WooCommerce answered {response.status_code} on {endpoint}: {message}",
                                response.status_code)
                if response.status_code not in RETRY_STATUSES:
                    raise last
                wait = _retry_after(response)
            if attempt == self.max_attempts:
                break
            self.sleep(min(self.max_wait, wait if wait is not None else self.backoff * 2 ** (attempt - 1)))
        raise last

    def page(self, endpoint: str, page: int, per_page: int = PER_PAGE_MAX, params: dict | None = None) -> Page:
        response = self.get(endpoint, {**(params or {}), "per_page": min(per_page, PER_PAGE_MAX), "page": page})
        items = response.json()
        if not isinstance(items, list):
            raise WooError(f"WooCommerce sent something else than a list for {endpoint}")
        total = _int(response.headers.get("X-WP-Total"), len(items))
        total_pages = _int(response.headers.get("X-WP-TotalPages"), 1)
        return Page(items, page, total_pages, total)

    def every(self, endpoint: str, per_page: int = PER_PAGE_MAX, params: dict | None = None) -> Iterator[dict]:
        """Every item of a list, page after page until ``X-WP-TotalPages``."""
        number = 1
        while True:
            page = self.page(endpoint, number, per_page, params)
            yield from page.items
            if number >= page.total_pages or not page.items:
                return
            number += 1

    def variations(self, product_id: int) -> list[dict]:
        return list(self.every(f"products/{int(product_id)}/variations"))


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body.get("code") or "")[:200]
    except (ValueError, AttributeError):
        return (response.text or "")[:100]


# --- downloading a file (an image's src) ------------------------------------------------------

class DownloadError(Exception):
    pass


def _public_host(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise DownloadError(f"the host {host!r} is unknown") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            raise DownloadError(f"the host {host!r} is a private address")


MAX_REDIRECTS = 3


def download(url: str, *, max_bytes: int, timeout: float = 15, allow_private: bool = False) -> bytes:
    """GET ``url``: at most ``max_bytes`` and ``timeout`` seconds in all; DownloadError otherwise.
    Redirects are followed by hand (at most MAX_REDIRECTS), each address checked like the first:
    a public page cannot send the server to a private one."""
    deadline = time.monotonic() + timeout
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise DownloadError("only http and https addresses can be downloaded")
            if not allow_private:
                _public_host(url)
            with requests.get(url, stream=True, timeout=min(timeout, 10), allow_redirects=False) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise DownloadError(f"the address answered {response.status_code}")
                declared = _int(response.headers.get("Content-Length"), 0)
                if declared > max_bytes:
                    raise DownloadError(f"the file is larger than {max_bytes // 1_000_000} MB")
                chunks, size = [], 0
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadError(f"the file is larger than {max_bytes // 1_000_000} MB")
                    if time.monotonic() > deadline:
                        raise DownloadError(f"the download took more than {timeout:g} s")
                    chunks.append(chunk)
                return b"".join(chunks)
        raise DownloadError(f"more than {MAX_REDIRECTS} redirects")
    except requests.RequestException as exc:
        raise DownloadError(f"the download failed ({type(exc).__name__})") from exc
