"""`sigap evaluate` run as another process on a year of 1,000 generated reports: the PDF (read
back with pypdf) and the HTML have every section, small counts suppressed, the confirmed
recruiter identifiers and never an unconfirmed or cleared one; in Indonesian (the default
language) or in English (`--lang en`), never a mix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.support.cli import sigap
from tests.support.statistics import (
    CLEARED,
    CONFIRMED,
    CONFIRMED_FEW,
    RARE_AREA,
    UNCONFIRMED,
    generated,
)

HEADINGS = {
    "id": [
        "Ringkasan",
        "Laporan per bulan",
        "Menurut wilayah",
        "Menurut negara tujuan",
        "Menurut jenis tawaran",
        "Menurut saluran",
        "Menurut prioritas",
        "Waktu tanggap",
        "Terhadap target eskalasi",
        "Hasil kasus yang ditutup",
        "Rujukan ke lembaga mitra",
        "Identitas perekrut yang berulang",
        "Catatan",
    ],
    "en": [
        "Summary",
        "Reports per month",
        "By area",
        "By destination",
        "By kind of offer",
        "By channel",
        "By priority",
        "Response times",
        "Against the escalation targets",
        "Outcomes of closed cases",
        "Referrals to partner agencies",
        "Recurring recruiter identifiers",
        "Notes",
    ],
}
RECEIVED = {"id": "Laporan masuk", "en": "Reports received"}


@pytest.fixture
async def year_of_reports(database_url: str) -> str:
    await generated(1000).store(database_url)
    return database_url


def pdf_text(path: Path) -> str:
    reader = PdfReader(path)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    assert reader.pages[0].mediabox.height == pytest.approx(841.89, abs=0.5)
    return "\n".join(page.extract_text() for page in reader.pages)


def check_document(text: str, language: str) -> None:
    flat = re.sub(r"\s+", " ", text)
    for heading in HEADINGS[language]:
        assert heading in flat, heading
    other = "en" if language == "id" else "id"
    assert not [h for h in HEADINGS[other] if h in flat and h not in HEADINGS[language]]
    assert f"{RECEIVED[language]} 1000" in flat
    # Three reports from one area, two withdrawn cases: suppressed, never the number.
    assert re.search(rf"{RARE_AREA} <5", flat), "the rare area is not suppressed"
    assert re.search(r"\S+ <5", flat)
    assert CONFIRMED in flat
    assert re.search(rf"{re.escape(CONFIRMED)} 40\b", flat)
    assert re.search(rf"{re.escape(CONFIRMED_FEW)} <5", flat)
    assert UNCONFIRMED not in flat
    assert CLEARED not in flat


def test_the_yearly_evaluation_as_pdf(year_of_reports: str, tmp_path: Path) -> None:
    printed = sigap(["evaluate", "--year", "2026", "--lang", "id"], tmp_path, year_of_reports)
    document = tmp_path / "evaluasi-2026.pdf"
    assert f"written to {document.name}" in printed
    assert document.read_bytes().startswith(b"%PDF")
    text = pdf_text(document)
    assert "Evaluasi Kasus Tahunan 2026" in text
    check_document(text, "id")
    assert "Januari 2026" in text  # months by their Indonesian names


def test_the_yearly_evaluation_as_html(year_of_reports: str, tmp_path: Path) -> None:
    out = tmp_path / "meeting.html"
    sigap(
        ["evaluate", "--year", "2026", "--format", "html", "--lang", "en", "-o", str(out)],
        tmp_path,
        year_of_reports,
    )
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "<h1>Yearly case evaluation 2026</h1>" in page
    assert page.count("<svg") >= 6  # the charts, inline
    # Nothing to fetch: self-contained (the charts' links are to their own parts).
    assert "src=" not in page
    assert re.findall(r'href="([^#"][^"]*)"', page) == []
    text = re.sub(r"<[^>]+>", " ", page).replace("&lt;", "<").replace("&gt;", ">")
    check_document(text, "en")
    assert "January 2026" in text


def test_a_year_without_reports_in_the_default_language(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    sigap(["evaluate", "--year", "2031", "-o", str(out)], tmp_path, database_url)
    text = re.sub(r"\s+", " ", pdf_text(out))
    assert "Evaluasi Kasus Tahunan 2031" in text  # [bot] default_language: id
    assert "Laporan masuk <5" in text
    assert "berbahaya. Tidak ada." in text
