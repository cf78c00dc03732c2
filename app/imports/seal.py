"""The dry run's report, carried to the confirmation in a signed hidden field.

Nothing the browser sends back is trusted: the report names the held upload (holding.py) and
the SHA-256 of its bytes, signed with the app's secret key (itsdangerous). The signature and
age are checked before anything is read; the confirmation then reads the held file again and
checks every feature as if new (clean_feature), and looks for duplicates again.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.imports.holding import Held

SEAL_SALT = "heritage.imports.report"


class SealBroken(ValueError):
    """The signed report was altered, is too old, or is not ours."""


@dataclass
class Sealed:
    """What a dry run vouched for: whose import, into which project, from which held file."""

    kind: str
    filename: str
    project_id: int
    user_id: int
    held: Held
    system: str  # the coordinate system chosen for the CSV columns


def seal(sealed: Sealed, secret_key: str) -> str:
    """Sign the report for a hidden field."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SEAL_SALT)
    return serializer.dumps(
        {
            "k": sealed.kind,
            "f": sealed.filename,
            "p": sealed.project_id,
            "u": sealed.user_id,
            "h": sealed.held.name,
            "d": sealed.held.digest,
            "s": sealed.system,
        }
    )


def unseal(token: str, secret_key: str, max_age: int) -> Sealed:
    """Check the signature and age before anything is read."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SEAL_SALT)
    try:
        data = serializer.loads(token, max_age=max_age)
        return Sealed(
            str(data["k"]),
            str(data["f"]),
            int(data["p"]),
            int(data["u"]),
            Held(str(data["h"]), str(data["d"])),
            str(data["s"]),
        )
    except (BadSignature, KeyError, TypeError, ValueError) as error:
        raise SealBroken(str(error)) from None
