"""One error type for every geometry problem, with a code the web layer can translate."""

from __future__ import annotations


class CodedError(ValueError):
    """An input problem with a stable ``code``, the ``params`` of its message, and the message.

    ``code`` is machine-readable; ``params`` fill the human message; ``message`` is a plain
    English fallback for logs and callers without a translation catalogue. Caught only as one
    of its kinds (GeometryError, geo.bbox.BBoxError), never as this base.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message


class GeometryError(CodedError):
    """A geometry or coordinate input that cannot be stored, with the reason."""
