"""Secrets stored in the database (a submitted endpoint's API key), encrypted at rest with Fernet.

The keys come from the environment (`ARENA_SECRETS_KEYS`, comma-separated Fernet keys): the first
encrypts, every one decrypts, so a key is rotated by putting the new one first and keeping the old
one until every token is re-encrypted (`secret_rotate`). Decryption sits here, below the portal,
because the worker that sends the request is the one that needs the plaintext.
"""

from __future__ import annotations

import base64
import sys
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import checks

from workers.adapters.base import AdapterError

_DEVELOPMENT_KEY_INFO = b"arena-hub ARENA_SECRETS_KEYS development key"


class SecretError(AdapterError):
    """A secret cannot be encrypted or decrypted; the message never contains a key or a token."""


def _development() -> bool:
    # Tests run with DEBUG off, as production does; pytest being loaded is what marks them.
    return bool(settings.DEBUG) or "pytest" in sys.modules


def _development_key() -> bytes:
    # Deterministic, so that every process of a development setup (web, workers, tests) derives the
    # same key from the SECRET_KEY they share; never used in production, where the key must be set.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DEVELOPMENT_KEY_INFO).derive(
        settings.SECRET_KEY.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _configured_keys() -> list[str]:
    return [key.strip() for key in settings.ARENA_SECRETS_KEYS if key.strip()]


def _fernet() -> MultiFernet:
    keys = _configured_keys()
    if not keys:
        if not _development():
            raise SecretError(
                "Stored API keys cannot be used: ARENA_SECRETS_KEYS is not set on this server "
                "(one or more Fernet keys, comma-separated)."
            )
        return MultiFernet([Fernet(_development_key())])
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            # The key itself stays out of the message: it would end up in logs.
            raise SecretError(
                f"Key {position} of ARENA_SECRETS_KEYS is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return MultiFernet(fernets)


def secret_encrypt(*, plaintext: str) -> str:
    """The Fernet token of `plaintext` under the first configured key (text, safe to store)."""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def secret_decrypt(*, ciphertext: str) -> str:
    """The plaintext of a token made by `secret_encrypt` under any configured key."""
    fernet = _fernet()
    try:
        return fernet.decrypt(ciphertext.encode()).decode()
    except (InvalidToken, UnicodeError):
        # `from None`: the token would otherwise travel along in the exception chain.
        raise SecretError(
            "A stored API key could not be decrypted: it was encrypted with a key that is no longer in "
            "ARENA_SECRETS_KEYS, or it is damaged. Submit the key again."
        ) from None


def secret_rotate(*, ciphertext: str) -> str:
    """The same secret re-encrypted under the first configured key (for rotating keys)."""
    fernet = _fernet()
    try:
        return fernet.rotate(ciphertext.encode()).decode("ascii")
    except InvalidToken:
        raise SecretError("A stored API key could not be decrypted for re-encryption.") from None


@checks.register(checks.Tags.security, deploy=True)
def secrets_keys_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check --deploy`: production needs ARENA_SECRETS_KEYS, and valid keys in it."""
    if settings.DEBUG:
        return []
    if not _configured_keys():
        return [
            checks.Error(
                "ARENA_SECRETS_KEYS is not set: submitted endpoints' API keys cannot be stored or used.",
                hint='Set it to a Fernet key: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="workers.E001",
            )
        ]
    try:
        _fernet()
    except SecretError as exc:
        return [checks.Error(str(exc), id="workers.E002")]
    return []
