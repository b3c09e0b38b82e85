"""Images for tests that need a real one (a browser shows it, a PDF embeds it)."""

from __future__ import annotations

import io

from PIL import Image


def png(width: int = 40, height: int = 20) -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(picture, format="PNG")
    return picture.getvalue()
