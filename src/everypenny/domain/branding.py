"""An appeal's optional look on its public pages: the partner's logo, two colours and a picture.

Colours are checked against WCAG 2.2 contrast rules where we draw them, so no branding can make a page
unreadable: the masthead colour carries white text (and the widget's total on white), the accent colour
marks the chosen amount and the progress bar (non-text, 3:1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
TEXT_CONTRAST = 4.5  # WCAG 2.2 SC 1.4.3, normal-size text
NON_TEXT_CONTRAST = 3.0  # WCAG 2.2 SC 1.4.11, graphical objects and component states
WHITE = "#ffffff"
# A picture or logo loads from the page's own site ("/...") or over HTTPS: an http:// one is mixed content.
PICTURE_URL = re.compile(r"^(https://[^\s\"'<>]+|/[^/\s\"'<>][^\s\"'<>]*)$")


def relative_luminance(colour: str) -> float:
    """WCAG 2.2's relative luminance of an sRGB colour written #rrggbb."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class Branding:
    masthead_colour: str = "#b00000"
    accent_colour: str = "#1d70b8"
    logo_url: str | None = None
    image_url: str | None = None
    image_alt: str = ""

    def problems(self) -> list[tuple[str, str]]:
        """(setting, message) for each rule broken, settings named as in the appeal file's [branding]."""
        found: list[tuple[str, str]] = []
        for key, colour, needed, use in (
                ("masthead_colour", self.masthead_colour, TEXT_CONTRAST, "white text on it"),
                ("accent_colour", self.accent_colour, NON_TEXT_CONTRAST, "it against the white page")):
            if not HEX_COLOUR.match(colour):
                found.append((key, f"{colour!r} must be a colour written #rrggbb, such as #b00000"))
            elif (ratio := contrast_ratio(colour, WHITE)) < needed:
                found.append((key, f"{colour} gives {use} a contrast of {ratio:.2f}:1; WCAG 2.2 AA needs at least "
                                   f"{needed:g}:1, so choose a darker colour"))
        for key, url in (("logo_url", self.logo_url), ("image_url", self.image_url)):
            if url is not None and not PICTURE_URL.match(url):
                found.append((key, f"{url!r} must be an https:// address or a path on this site starting with /"))
        if self.image_url and not self.image_alt.strip():
            found.append(("image_alt", "describe the picture for people who cannot see it"))
        if self.image_alt and not self.image_url:
            found.append(("image_alt", "describes a picture, but no image_url is given"))
        return found
