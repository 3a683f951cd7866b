"""Text-message backends for reminders.

Set ``OPENIPT_SMS_BACKEND`` to the dotted path of a class with this interface::

    class MyProviderBackend(SmsBackend):
        def send(self, to: str, text: str) -> None:
            ...  # call the provider's API; raise on failure so the reminder is retried

``send`` must raise when the message was not accepted (the reminder is then retried on a
later run); it must not retry by itself. ``to`` is the phone number as recorded for the
client; ``text`` is short and never carries clinical content.
"""

from __future__ import annotations

import logging
from typing import ClassVar, cast

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("openipt.sms")


class SmsBackend:
    """The interface every SMS backend implements."""

    def send(self, to: str, text: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Default: writes the message to the log instead of sending it (for trying OpenIPT)."""

    def send(self, to: str, text: str) -> None:
        # Phone numbers are personal data: the log shows only their last two digits.
        logger.info("SMS to ...%s (%d characters): %s", to[-2:], len(text), text)


class LocmemSmsBackend(SmsBackend):
    """Keeps messages in ``LocmemSmsBackend.outbox`` (for tests)."""

    outbox: ClassVar[list[tuple[str, str]]] = []

    def send(self, to: str, text: str) -> None:
        self.outbox.append((to, text))


def get_backend() -> SmsBackend:
    backend_class = import_string(settings.OPENIPT_SMS_BACKEND)
    backend = backend_class()
    if not isinstance(backend, SmsBackend) and not callable(getattr(backend, "send", None)):
        raise TypeError(f"{settings.OPENIPT_SMS_BACKEND} has no send(to, text) method")
    return cast("SmsBackend", backend)  # checked above: it can send
