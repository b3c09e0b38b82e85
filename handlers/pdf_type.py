"""The type of Sigap's PDF documents (a referral's case file, the yearly evaluation): DejaVu
Sans, shipped inside matplotlib (a dependency already, for the charts). reportlab's built-in
Helvetica knows only the Western (cp1252) letters and prints the rest as black boxes, while
reporters and recruiters write names in Vietnamese, Cyrillic, Arabic script and more, which
DejaVu has. Scripts DejaVu lacks (Chinese, Khmer, Burmese) still show as boxes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

SANS, MONO = "DejaVuSans", "DejaVuSansMono"
FACES = {
    "Helvetica": SANS,
    "Helvetica-Bold": f"{SANS}-Bold",
    "Helvetica-Oblique": f"{SANS}-Oblique",
    "Helvetica-BoldOblique": f"{SANS}-BoldOblique",
    "Times-Roman": SANS,
    "Times-Bold": f"{SANS}-Bold",
    "Times-Italic": f"{SANS}-Oblique",
    "Times-BoldItalic": f"{SANS}-BoldOblique",
    "Courier": MONO,
    "Courier-Bold": f"{MONO}-Bold",
}


@cache
def register() -> None:
    """Registers the DejaVu faces with reportlab, once per process (embedded as subsets)."""
    import matplotlib  # only its data folder, and only when a document is made

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for face in set(FACES.values()):
        pdfmetrics.registerFont(TTFont(face, folder / f"{face}.ttf"))
    pdfmetrics.registerFontFamily(
        SANS,
        normal=SANS,
        bold=f"{SANS}-Bold",
        italic=f"{SANS}-Oblique",
        boldItalic=f"{SANS}-BoldOblique",
    )


def styles() -> StyleSheet1:
    """reportlab's sample styles, set in DejaVu."""
    register()
    sheet = getSampleStyleSheet()
    for style in sheet.byName.values():
        font = getattr(style, "fontName", None)
        if font in FACES:
            style.fontName = FACES[font]
    return sheet
