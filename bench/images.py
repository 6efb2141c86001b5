"""Memory of image uploads: N large images through ``services.storage.process_image``.

    .venv/bin/python bench/images.py --count 8

Each row runs in a fresh process: the app is built (bench/_common.py), the image's bytes are
read, the peak is reset (Linux ``/proc/self/clear_refs``), and the images are processed one after
another or from N threads released together. Reported: the resident memory before, the peak
(VmHWM, what ru_maxrss reads) and what the process still holds afterwards, in MB.
The images (24 megapixels, 6000 × 4000, under MAX_IMAGE_BYTES) are drawn once in the parent.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, bench_app

SIZE = (6000, 4000)


def draw(folder: Path) -> dict[str, Path]:
    """A gradient with shapes (PNG: few bytes, as PNG uploads under 10 MB must be) and the same
    with noise as a photo-like JPEG (~4 MB)."""
    from PIL import Image, ImageDraw

    g = Image.linear_gradient("L")
    img = Image.merge("RGB", (g.resize(SIZE), g.rotate(90).resize(SIZE), Image.radial_gradient("L").resize(SIZE)))
    pen = ImageDraw.Draw(img)
    for x in range(0, SIZE[0], 150):
        y = (x * 7) % SIZE[1]
        pen.ellipse((x, y, x + 120, y + 120), fill=((x * 3) % 255, 90, 200))
    files = {"PNG": folder / "big.png", "JPEG": folder / "big.jpg"}
    img.save(files["PNG"])
    Image.blend(img, Image.effect_noise(SIZE, 40).convert("RGB"), 0.1).save(files["JPEG"], quality=88)
    return files


def status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_mb() -> float:
    return status_mb("VmRSS")


def peak_mb() -> float:
    """The peak resident memory since ``reset_peak``: VmHWM, the figure ru_maxrss reports for a
    process that has not exec'd from a bigger one (after an exec ru_maxrss keeps the parent's
    size as a floor, and the parent here has just drawn two 24-megapixel images)."""
    return status_mb("VmHWM")


def reset_peak() -> None:
    """Forget the peak so far (building the app and migrating cost more than an image): Linux
    resets VmHWM when "5" is written to clear_refs."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def run_one(path: str, count: int, threads: bool, workers: int) -> dict:
    """One row, in this (fresh) process."""
    from services.storage import process_image

    with bench_app("sqlite", IMAGE_WORKERS=str(workers)) as app:
        data = Path(path).read_bytes()
        sizes: list[tuple[int, int]] = []

        def work(gate: threading.Barrier | None = None) -> None:
            with app.app_context():
                if gate:
                    gate.wait()
                _, w, h = process_image(data)
                sizes.append((w, h))

        reset_peak()
        before, start = rss_mb(), time.perf_counter()
        if threads:
            gate = threading.Barrier(count)
            pool = [threading.Thread(target=work, args=(gate,)) for _ in range(count)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
        else:
            for _ in range(count):
                work()
        seconds = time.perf_counter() - start
        assert sizes == [(2400, 1600)] * count, sizes
        return {"before": before, "peak": peak_mb(), "after": rss_mb(), "seconds": seconds,
                "bytes": len(data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8, help="images per row (and threads)")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 8],
                        help="IMAGE_WORKERS values for the threaded rows (8 = no waiting for 8 threads)")
    parser.add_argument("--one", nargs=4, metavar=("PATH", "COUNT", "THREADS", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        path, count, threads, workers = args.one
        print(json.dumps(run_one(path, int(count), threads == "1", int(workers))))
        return

    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        files = draw(Path(tmp))
        print(f"{args.count} images of {SIZE[0]} × {SIZE[1]} ({SIZE[0] * SIZE[1] / 1e6:.0f} megapixels) each,"
              f" out at most 2400 px a side; one process per row; MB of resident memory\n")
        print("| image | how | IMAGE_WORKERS | before | peak | peak − before | after | seconds |")
        print("|---|---|---|---|---|---|---|---|")
        for fmt, path in files.items():
            rows = [("one after another", 0, 1)] + [(f"{args.count} threads", 1, w) for w in args.workers]
            for how, threads, workers in rows:
                out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", str(path), str(args.count), str(threads),
                                      str(workers)], cwd=ROOT, capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                label = f"{fmt} ({r['bytes'] / 2**20:.1f} MB)"
                print(f"| {label} | {how} | {workers if threads else '-'} | {r['before']:.0f} | {r['peak']:.0f} "
                      f"| **{r['peak'] - r['before']:.0f}** | {r['after']:.0f} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
