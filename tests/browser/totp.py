"""Authenticator codes for the browser tests, from allauth's own HOTP helpers."""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

SAFETY_SECONDS = 3  # never submit a code in the last seconds of its 30-second window


def current_totp_code(secret: str) -> str:
    period = app_settings.TOTP_PERIOD
    if period - time.time() % period < SAFETY_SECONDS:
        time.sleep(SAFETY_SECONDS)
    return format_hotp_value(hotp_value(secret.strip(), int(time.time()) // period))
