"""Doorplates (数字政务门牌) to print: the guide's QR code with the item's name under it.

The public base URL comes from one setting (`Settings.public_base_url`), so a printed
code and the API's links agree. A PNG draws its caption with a Chinese font found on this
machine; the SVG leaves the text to the printer.
"""

from __future__ import annotations

from pathlib import Path

from domain.guide import doorplate_png, doorplate_svg
from onething.settings import SettingsError, load_settings

# Where Debian, macOS and Windows keep a font with Chinese glyphs.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
FONT_ENV = "ONETHING_DOORPLATE_FONT"


class DoorplateError(ValueError):
    """The doorplate cannot be made as asked; the message says what to do."""


def cjk_font() -> str | None:
    """A font file with Chinese glyphs: ONETHING_DOORPLATE_FONT, else a usual place."""
    try:
        chosen = load_settings().doorplate_font.strip()
    except SettingsError as exc:
        raise DoorplateError(str(exc)) from None
    if chosen:
        if not Path(chosen).is_file():
            raise DoorplateError(f"{FONT_ENV}: no such font file")
        return chosen
    return next((f for f in CJK_FONTS if Path(f).is_file()), None)


def doorplate(url: str, caption: str, filename: str) -> bytes:
    """The doorplate for `url` in the format the file name asks for (.svg or .png)."""
    lower = filename.lower()
    if lower.endswith(".svg"):
        return doorplate_svg(url, caption).encode("utf-8")
    if lower.endswith(".png"):
        font = cjk_font()
        if font is None:
            raise DoorplateError(
                f"no font with Chinese glyphs for the caption: install fonts-noto-cjk, "
                f"set {FONT_ENV}, or write an .svg"
            )
        return doorplate_png(url, caption, font)
    raise DoorplateError(f"--qr file must end in .svg or .png, got {Path(filename).name!r}")


def is_loopback_url(url: str) -> bool:
    """Whether `url` points at this machine only (a phone that scans it reaches nothing)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
