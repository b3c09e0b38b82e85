"""`sigap chat` where it asks for files: a line is a file only when it names one that exists;
anything else typed there is text (the story goes on, an addition is kept), never a lost
"file"."""

from __future__ import annotations

from pathlib import Path

from tests.support.answers import INDONESIAN_DETAILS, INDONESIAN_REPORT
from tests.support.cli import sigap, terminal_chat

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Up to the files: the report, then the details from the summary.
UP_TO_EVIDENCE = [*INDONESIAN_REPORT[:-1], *INDONESIAN_DETAILS[:2]]
AFTER_EVIDENCE = [*INDONESIAN_DETAILS[2:], INDONESIAN_REPORT[-1]]  # selesai, the area, send
NOT_A_FILE = "File itu tidak bisa saya buka"


def test_text_typed_where_files_are_asked_for_is_text(tmp_path: Path, database_url: str) -> None:
    photo = tmp_path / "iklan lowongan.png"
    photo.write_bytes(PNG)
    turns = [
        *UP_TO_EVIDENCE,
        ("Iklannya ada di HP kakak saya, nanti saya kirim.", "Mohon kirim foto atau dokumen"),
        (f"'{photo}'", "1 file diterima"),
        *AFTER_EVIDENCE,
    ]
    chat = terminal_chat(turns, tmp_path, database_url)
    at_evidence = chat.split("> Iklannya ada di HP kakak saya")[1].split(f"> '{photo}'")[0]
    assert "Mohon kirim foto atau dokumen.\n" in at_evidence and "Ketik SELESAI" in at_evidence
    assert "ketuk" not in chat.lower()
    assert "1 file diterima" in chat and NOT_A_FILE not in chat
    assert "BTN-2026-00001" in chat

    addition = "Calo itu menelepon lagi tadi malam dan minta uang tambahan."
    lines = ["tambah BTN-2026-00001", addition, "/tmp/tidak-ada/foto.jpg", "selesai"]
    chat = sigap(["chat"], tmp_path, database_url, stdin="\n".join(lines) + "\n")
    assert chat.count("Sudah ditambahkan ke BTN-2026-00001") == 2 and NOT_A_FILE not in chat

    shown = sigap(["reports", "show", "BTN-2026-00001"], tmp_path, database_url)
    assert "evidence (1):" in shown and "iklan lowongan.png" in shown
    assert "additions (2):" in shown
    assert addition in shown and "/tmp/tidak-ada/foto.jpg" in shown
