"""MFA secrets at rest: allauth stores TOTP secrets and recovery-code seeds through
``encrypt``/``decrypt``; we seal them with Fernet so a database dump does not reveal them.

The key comes from ``OPENIPT_FIELD_ENCRYPTION_KEY`` (one or more comma-separated secrets,
the first one encrypts, all decrypt: rotation), or, when unset, is derived from
``SECRET_KEY``. Either way the secret is stretched with HKDF, so any long random string works.
"""

from __future__ import annotations

import base64
from functools import cache

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from openipt.accounts.policy import staff_membership

PREFIX = "fernet:"
_HKDF_INFO = b"openipt field encryption v1"


def _derive(secret: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(raw))


@cache
def _fernet(key_setting: str, secret_key: str) -> MultiFernet:
    secrets = [part.strip() for part in key_setting.split(",") if part.strip()]
    return MultiFernet([_derive(secret) for secret in (secrets or [secret_key])])


def field_fernet() -> MultiFernet:
    return _fernet(settings.OPENIPT_FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


class MfaAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        token = field_fernet().encrypt(text.encode("utf-8"))
        return PREFIX + token.decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(PREFIX):
            return encrypted_text  # stored before encryption was switched on
        token = encrypted_text.removeprefix(PREFIX).encode("ascii")
        return field_fernet().decrypt(token).decode("utf-8")

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Staff must keep an authenticator app (docs/quality.md S7); they can replace lost codes,
        # and an administrator can help if the phone is lost.
        if authenticator.type == Authenticator.Type.TOTP:
            return staff_membership(authenticator.user) is None
        return True


def readable_with(*, field_key: str, secret_key: str) -> tuple[int, int]:
    """How many stored MFA secrets these keys can read, of how many (a restore's check)."""
    fernet = _fernet(field_key, secret_key)
    readable = total = 0
    for data in Authenticator.objects.values_list("data", flat=True):
        for value in (data or {}).values():
            if isinstance(value, str) and value.startswith(PREFIX):
                total += 1
                try:
                    fernet.decrypt(value.removeprefix(PREFIX).encode("ascii"))
                except InvalidToken:
                    continue
                readable += 1
    return readable, total
