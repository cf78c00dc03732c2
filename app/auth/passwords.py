"""argon2id password hashing and the rules a new password must meet (docs/security.md item 1)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# The most common passwords in public breach lists, plus Norwegian favourites; refused outright.
COMMON = frozenset(
    """
    12345678 123456789 1234567890 password password1 passord passord1 passord123 qwertyui
    qwerty123 11111111 00000000 abcd1234 iloveyou sommer123 vinter123 norge123 hemmelig
    hemmelig1 letmein1 welcome1 admin123 administrator 87654321 12341234 11223344 qwertyuiop
    asdfghjk asdfghjkl zxcvbnm1 trustno1 baseball football princess1 sunshine superman
    1q2w3e4r 1qaz2wsx password123 passw0rd p@ssw0rd p@ssword bibliotek bibliotek1 kulturminne
    """.split()
)


def hash_password(password: str) -> str:
    """Hash with argon2id; the result starts with $argon2id$."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when the password matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify() -> None:
    """Spend the same time as a real check so unknown e-mails cannot be told apart by timing."""
    verify_password(_dummy_hash(), "not the password")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Made on first use, not at import: argon2 takes 64 MiB, which every CLI command would pay.
    return _hasher.hash("dummy password for timing")


def password_problem(password: str) -> str | None:
    """The reason a new password is refused (an English message id), or None if acceptable."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    if password.casefold() in COMMON or len(set(password)) < 3:
        return "too_common"
    return None
