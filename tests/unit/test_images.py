"""Image decoding (services.storage.process_image): its memory and how many images decode at once.

The API's answers (422 ``image_too_large``, the stored size) are in tests/api/test_catalog_products.py.
"""
from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from config import ConfigError, load_config
from services import storage

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the peak is that process's own, reset just before the images.
MEASURE = """
import sys, threading
from flask import Flask
from services.storage import process_image

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024

data, threads = open(sys.argv[1], "rb").read(), int(sys.argv[2])
app = Flask("probe")
app.config.update(MAX_IMAGE_BYTES=10 * 1024 * 1024, IMAGE_WORKERS=1)
sizes = []

def upload():
    with app.app_context():
        sizes.append(process_image(data)[1:])

with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # VmHWM (what ru_maxrss reads) starts again from here
before = status("VmRSS")
pool = [threading.Thread(target=upload) for _ in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
assert sizes == [(2400, 1600)] * threads, sizes
print(status("VmHWM") - before, status("VmRSS") - before)
"""


def _solid(size: tuple[int, int], fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format=fmt)
    return out.getvalue()


def _app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_IMAGE_BYTES=10 * 1024 * 1024, **config)
    return app


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to reset the peak")
@pytest.mark.parametrize("fmt,threads,peak_mb", [
    # A 6000 × 4000 image is 96 MB decoded (Pillow keeps RGB in 4 bytes a pixel). A JPEG is
    # decoded at half scale and never needs those 96 MB; a PNG has no scaled decoding, so it
    # costs the full-size pixels plus a quarter of them (reduced by 2 before the rest).
    ("JPEG", 1, 90),
    ("PNG", 1, 150),
    # Four at once cost what one costs: they take turns, and each gives its memory back.
    ("PNG", 4, 150),
])
def test_decoding_a_large_image_costs_little_more_than_its_output(tmp_path, fmt, threads, peak_mb):
    path = tmp_path / f"big.{fmt.lower()}"
    path.write_bytes(_solid((6000, 4000), fmt))
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path), str(threads)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    peak, kept = map(float, result.stdout.split())
    assert peak < peak_mb, f"{fmt} × {threads}: the peak grew by {peak:.0f} MB"
    assert kept < 50, f"{fmt} × {threads}: {kept:.0f} MB still held afterwards"


@pytest.mark.parametrize("workers", [1, 2])
def test_images_are_decoded_at_most_image_workers_at_a_time(monkeypatch, workers):
    monkeypatch.setattr(storage, "_slots", None)  # made again from this app's IMAGE_WORKERS
    app = _app(IMAGE_WORKERS=workers)
    inside = 0
    most = 0
    count = threading.Lock()
    decode = storage._reencode

    def slow_decode(data: bytes):
        nonlocal inside, most
        with count:
            inside += 1
            most = max(most, inside)
        time.sleep(0.1)
        try:
            return decode(data)
        finally:
            with count:
                inside -= 1

    monkeypatch.setattr(storage, "_reencode", slow_decode)
    data = _solid((40, 30), "PNG")
    start = threading.Barrier(4)
    sizes = []

    def upload():
        with app.app_context():
            start.wait()
            sizes.append(storage.process_image(data)[1:])

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sizes == [(40, 30)] * 4
    assert most == workers


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns above its limit, too
def test_the_pixel_cap_is_checked_before_waiting_for_a_slot(monkeypatch):
    """A refused image does not queue behind the images being decoded."""
    monkeypatch.setattr(storage, "_slots", None)
    app = _app(IMAGE_WORKERS=1)
    data = _solid((6000, 5000), "PNG")
    refusals = []

    def upload():
        with app.app_context():
            try:
                storage.process_image(data)
            except storage.Invalid as exc:
                refusals.append(exc)

    with app.app_context():
        slots = storage.image_slots()
    slots.acquire()  # an image being decoded
    try:
        other = threading.Thread(target=upload)
        other.start()
        other.join(timeout=10)
        assert not other.is_alive(), "the refusal waited for the slot"
    finally:
        slots.release()
        other.join()
    [refused] = refusals
    assert refused.code == "image_too_large" and refused.status == 422
    assert "25 megapixels" in refused.message and "6000×5000" in refused.message


def test_image_workers_is_a_small_whole_number(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path)}
    assert load_config(environ=env)["IMAGE_WORKERS"] == 1
    assert load_config(environ={**env, "IMAGE_WORKERS": ""})["IMAGE_WORKERS"] == 1
    assert load_config(environ={**env, "IMAGE_WORKERS": "3"})["IMAGE_WORKERS"] == 3
    for wrong in ("0", "-1", "17", "two"):
        with pytest.raises(ConfigError, match="IMAGE_WORKERS"):
            load_config(environ={**env, "IMAGE_WORKERS": wrong})
