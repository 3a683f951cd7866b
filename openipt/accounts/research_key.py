"""The practice's research key: the secret behind the research export's pseudonyms and date
shifts (docs/adr/0019-research-export.md).

Thirty-two random bytes, made on the practice's first export and stored in
``Practice.research_key`` sealed with the field encryption key (as the MFA secrets are), so a
database dump alone cannot turn a pseudonym back into a client, and a restore that brings the
field encryption key (``manage.py backup`` keeps it in its keys file) keeps every pseudonym.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import InvalidToken

from openipt.accounts.mfa_adapter import PREFIX, field_fernet
from openipt.accounts.models import Practice

KEY_BYTES = 32


class ResearchKeyUnreadable(Exception):
    """The stored key was sealed with a field encryption key this installation lacks."""


def _seal(raw: bytes) -> str:
    token = field_fernet().encrypt(base64.urlsafe_b64encode(raw))
    return PREFIX + token.decode("ascii")


def _open(sealed: str) -> bytes:
    token = sealed.removeprefix(PREFIX).encode("ascii")
    try:
        return base64.urlsafe_b64decode(field_fernet().decrypt(token))
    except InvalidToken as unreadable:
        raise ResearchKeyUnreadable from unreadable


def practice_research_key(practice_id: int) -> bytes:
    """The practice's research key, made and stored on first use.

    Two first exports at once cannot end with two keys: the key is written only where none
    is stored yet, and both read back whichever was written first.
    """
    stored = Practice.objects.filter(pk=practice_id).values_list("research_key", flat=True).get()
    if not stored:
        Practice.objects.filter(pk=practice_id, research_key="").update(
            research_key=_seal(secrets.token_bytes(KEY_BYTES))
        )
        stored = (
            Practice.objects.filter(pk=practice_id).values_list("research_key", flat=True).get()
        )
    return _open(stored)
