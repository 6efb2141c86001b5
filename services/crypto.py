"""Secrets. Deliverables are encrypted at rest (MultiFernet, newest key first) and deduplicated
by a keyed hash (HMAC-SHA256 per store), so equal codes in two stores never correlate. Secret
links (password reset, a guest's order link) are stored only as ``token_hash``."""
from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


def token_hash(token: str | None) -> str:
    """What is stored of a random secret that is emailed (a reset or guest link): its SHA-256."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def _fernet() -> MultiFernet:
    cached = current_app.extensions.get("deliverable_fernet")
    if cached is None:
        cached = MultiFernet([Fernet(k.encode()) for k in current_app.config["DELIVERABLE_KEYS"]])
        current_app.extensions["deliverable_fernet"] = cached
    return cached


def _hash_key() -> bytes:
    return current_app.config["DELIVERABLE_HASH_KEY"].encode()


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def encryptor():
    """A fast encrypt function for bulk work (one lookup of the keys)."""
    fernet = _fernet()
    return lambda plain: fernet.encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a key was removed from DELIVERABLE_KEYS too early
        raise RuntimeError("A deliverable cannot be decrypted with the configured DELIVERABLE_KEYS") from exc


def hasher(store_id: str):
    key = _hash_key()
    prefix = store_id.encode() + b"\0"

    def digest(plain: str) -> bytes:
        return hmac.new(key, prefix + plain.encode(), hashlib.sha256).digest()

    return digest


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (for a key-rotation job)."""
    return _fernet().rotate(token.encode()).decode()


def mask(plain: str) -> str:
    """What staff see until they reveal: the shape, not the secret."""
    if len(plain) <= 4:
        return "•" * len(plain)
    return plain[:2] + "•" * min(len(plain) - 4, 24) + plain[-2:]
