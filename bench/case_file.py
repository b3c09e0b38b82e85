"""Rendering a case file (the PDF sent to a partner agency) with 10 evidence images, phone
photos of 1600x1200 pixels scaled down to thumbnails, against the same case with no images,
measured in the same run: the median time of each and their ratio.

    python3 dev.py bench case_file [--images 10] [--repeat 7]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from handlers.taskforce.case_file import CaseFile, Evidence, render

STORY = (
    "Sepupu saya ditawari kerja di restoran Malaysia oleh Pak Budi, harus bayar 5 juta dulu, "
    "paspor katanya dipegang agen, berangkat lewat pelabuhan kecil di Tanjung Uban. "
) * 6


def photo(seed: int, path: Path) -> Evidence:
    """A JPEG like a phone's: 1600x1200, noisy enough not to compress to nothing."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (160, 120), rng.randbytes(160 * 120 * 3))
    out = io.BytesIO()
    small.resize((1600, 1200)).save(out, "JPEG", quality=85)
    data = out.getvalue()
    file = path / f"{seed}.jpg"
    file.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    return Evidence(f"screenshot-{seed}.jpg", "image/jpeg", len(data), sha256, file)


def case(evidence: list[Evidence]) -> CaseFile:
    return CaseFile(
        title="Berkas kasus BTN-2026-00042",
        subtitle="Dirujuk oleh Gugus Tugas TPPO kepada Polres Bintan (Polisi).",
        sections=[
            ("Ringkasan", [f"Baris ringkasan {n}" for n in range(10)]),
            ("Tanda bahaya", ["Biaya diminta di muka", "Paspor ditahan", "Jalur tidak resmi"]),
            ("Perekrut", ["Telepon: +6281234567890", "Nama: Pak Budi"]),
            ("Yang terjadi", [STORY]),
            ("Pelapor", ["Kontak: +6281211112222"]),
        ],
        timeline_heading="Riwayat",
        timeline=[(f"2026-12-01 0{n % 10}:00", f"Peristiwa {n}", "Andi") for n in range(15)],
        evidence_heading="Bukti",
        evidence=evidence,
        no_evidence="Tidak ada berkas.",
        footer="Rahasia.",
    )


def timed(made: CaseFile, repeat: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        size = len(render(made))
        times.append(time.perf_counter() - began)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        evidence = [photo(n, Path(folder)) for n in range(arguments.images)]
        timed(case(evidence[:1]), 1)  # warm up (fonts, imports)
        plain, plain_size = timed(case([]), arguments.repeat)
        full, full_size = timed(case(evidence), arguments.repeat)
    print(f"case file, no images:       {plain * 1000:8.1f} ms  {plain_size / 1024:7.1f} KiB")
    print(
        f"case file, {arguments.images} images:  {full * 1000:8.1f} ms  "
        f"{full_size / 1024:7.1f} KiB  (median of {arguments.repeat})"
    )
    print(f"ratio: {full / plain:.1f}x the time of the same case with no images")


if __name__ == "__main__":
    main()
