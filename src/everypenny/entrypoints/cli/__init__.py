"""The `everypenny` command: a package of command groups over one shared module (see `root`)."""

from everypenny.entrypoints.cli.root import app

__all__ = ["app"]
