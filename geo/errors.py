"""One error type for every geometry problem, with a code the web layer can translate."""

from __future__ import annotations


class GeometryError(ValueError):
    """A geometry or coordinate input that cannot be stored, with the reason.

    ``code`` is stable and machine-readable; ``params`` fill the human message; ``message`` is a
    plain English fallback for logs and callers without a translation catalogue.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message
