"""Image decoding (services.storage.process_image): its memory.

The API's answers (422 ``image_too_large``, the stored size) are in tests/api/test_catalog_products.py.
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

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


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to reset the peak")
@pytest.mark.parametrize("fmt,threads,peak_mb", [
    # A 6000 × 4000 image is 96 MB decoded (Pillow keeps RGB in 4 bytes a pixel). A JPEG is
    # decoded at half scale and never needs those 96 MB; a PNG has no scaled decoding, so it
    # costs the full-size pixels plus a quarter of them (reduced by 2 before the rest).
    ("JPEG", 1, 90),
    ("PNG", 1, 150),
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
