"""The dry run's candidates, carried to the confirmation in a signed hidden field.

Nothing is stored between the two steps: the checked candidates go to the browser signed with
the app's secret key (itsdangerous, zlib-compressed) and come back with the confirmation. The
signature and age are checked before anything is decompressed; the candidates are then checked
again as if new (clean_feature), and duplicates looked for again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.imports.candidates import Candidate

SEAL_SALT = "heritage.imports.candidates"


class SealBroken(ValueError):
    """The signed candidates were altered, are too old, or are not ours."""


@dataclass
class Sealed:
    """What a dry run vouched for: whose import, into which project, from which file."""

    kind: str
    filename: str
    project_id: int
    user_id: int
    candidates: list[dict[str, Any]]


def seal(sealed: Sealed, secret_key: str) -> str:
    """Sign (and zlib-compress) the candidates that passed the dry run, for a hidden field."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SEAL_SALT)
    return serializer.dumps(
        {
            "k": sealed.kind,
            "f": sealed.filename,
            "p": sealed.project_id,
            "u": sealed.user_id,
            "c": sealed.candidates,
        }
    )


def unseal(token: str, secret_key: str, max_age: int) -> Sealed:
    """Check the signature and age before anything is decompressed or read."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SEAL_SALT)
    try:
        data = serializer.loads(token, max_age=max_age)
        return Sealed(data["k"], data["f"], int(data["p"]), int(data["u"]), list(data["c"]))
    except (BadSignature, KeyError, TypeError, ValueError) as error:
        raise SealBroken(str(error)) from None


def sealable(candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
    """The fields of every importable candidate, in the form clean_feature reads again."""
    return [{"number": c.number, **c.fields} for c in candidates if c.importable]
