"""MkDocs hook: pages that may not exist yet join the navigation only when their file does.

Some pages are written alongside the features they describe; listing a missing page in `nav` would fail
`mkdocs build --strict`, and leaving a present page out would hide it. Each entry names the nav section a
page belongs in."""

from __future__ import annotations

from pathlib import Path

OPTIONAL_PAGES = {
    "Going live": [("The aggregator in detail", "going-live-aggregator.md"),
                   ("Stripe in detail", "going-live-stripe.md"), ("Gift Aid and HMRC", "gift-aid.md")],
    "How it works": [("Donation pages", "donation-pages.md"), ("The appeal desk in detail", "appeal-desk.md"),
                     ("Privacy and erasure", "privacy-and-erasure.md")],
    "Deploying": [("Security", "security.md")],
}


def on_config(config):
    docs = Path(config["docs_dir"])
    for entry in config["nav"]:
        for section, pages in entry.items():
            if section in OPTIONAL_PAGES and isinstance(pages, list):
                pages.extend({title: name} for title, name in OPTIONAL_PAGES[section] if (docs / name).exists())
    return config
