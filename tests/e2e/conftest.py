"""Fixtures shared by the desk's end-to-end tests (defined beside the desk's login helpers)."""

from tests.e2e.desk_helpers import as_role, donations  # noqa: F401
