"""The name a deleted account is kept under, reserved so that no live account can take it."""

from __future__ import annotations

# What the kept row is called everywhere (a stored value, like a name, not a UI string).
PSEUDONYM = "Tidligere bidragsyter"


def is_pseudonym(name: str | None) -> bool:
    """Whether a name reads as the pseudonym, whatever its letter case and spacing."""
    return " ".join((name or "").split()).casefold() == PSEUDONYM.casefold()
