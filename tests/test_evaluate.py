"""`sigap evaluate` run as another process on a year of 1,000 generated reports: the PDF (read
back with pypdf) and the HTML have every section, small counts suppressed, the confirmed
recruiter identifiers and never an unconfirmed or cleared one."""

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

HEADINGS = [
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
]
ENGLISH = ["Reports per month", "By area", "Against the escalation targets", "Referrals"]


@pytest.fixture
async def year_of_reports(database_url: str) -> str:
    await generated(1000).store(database_url)
    return database_url


def pdf_text(path: Path) -> str:
    reader = PdfReader(path)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    assert reader.pages[0].mediabox.height == pytest.approx(841.89, abs=0.5)
    return "\n".join(page.extract_text() for page in reader.pages)


def check_document(text: str) -> None:
    flat = re.sub(r"\s+", " ", text)
    for heading in HEADINGS + ENGLISH:
        assert heading in flat, heading
    assert "Laporan masuk / Reports received 1000" in flat
    # Three reports from one area, two withdrawn cases: suppressed, never the number.
    assert re.search(rf"{RARE_AREA} <5", flat), "the rare area is not suppressed"
    assert re.search(r"Withdrawn <5|Ditarik <5|Dibatalkan <5|\S+ <5", flat)
    assert CONFIRMED in flat
    assert re.search(rf"{re.escape(CONFIRMED)} 40\b", flat)
    assert re.search(rf"{re.escape(CONFIRMED_FEW)} <5", flat)
    assert UNCONFIRMED not in flat
    assert CLEARED not in flat


def test_the_yearly_evaluation_as_pdf(year_of_reports: str, tmp_path: Path) -> None:
    printed = sigap(["evaluate", "--year", "2026"], tmp_path, year_of_reports)
    document = tmp_path / "evaluasi-2026.pdf"
    assert f"written to {document.name}" in printed
    assert document.read_bytes().startswith(b"%PDF")
    text = pdf_text(document)
    assert "Evaluasi Kasus Tahunan 2026" in text
    check_document(text)
    assert "Januari 2026" in text  # the default language's month names


def test_the_yearly_evaluation_as_html(year_of_reports: str, tmp_path: Path) -> None:
    out = tmp_path / "meeting.html"
    sigap(
        ["evaluate", "--year", "2026", "--format", "html", "-o", str(out)],
        tmp_path,
        year_of_reports,
    )
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") >= 6  # the charts, inline
    # Nothing to fetch: self-contained (the charts' links are to their own parts).
    assert "src=" not in page
    assert re.findall(r'href="([^#"][^"]*)"', page) == []
    check_document(re.sub(r"<[^>]+>", " ", page).replace("&lt;", "<").replace("&gt;", ">"))


def test_a_year_without_reports(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    sigap(["evaluate", "--year", "2031", "-o", str(out)], tmp_path, database_url)
    text = re.sub(r"\s+", " ", pdf_text(out))
    assert "Reports received <5" in text
    assert "tidak ada / none" in text
