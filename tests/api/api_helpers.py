"""Helpers for the API tests (imported as `api_helpers`: `conftest` names another module when
the whole suite runs)."""

from __future__ import annotations


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
