"""The view kit, without domain: what every view does the same way.

- ``GET_POST``: the one method guard for form pages.
- ``form_errors_from(form, exc)``: a service's ``ValidationError`` shown next to the fields it
  names (or above the form), so the user's typing stays and nothing is half-saved.
- ``attempt(form, action)``: run one service call for a bound, valid form and get its result,
  or ``None`` with the refusal already on the form.
- ``download_response``: a stored file as a download that is never rendered inline.
- ``parse_uuid``: a UUID from a URL or form value, ``Http404`` for anything else.
- ``posted``: what a form is bound to (the POST data on a POST, even when empty).

The signed-in request type and ``staff_required`` need the accounts app, so they live in
``openipt.accounts.http`` (the layer above this one).
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core.exceptions import ValidationError
from django.core.files import File
from django.forms import BaseForm
from django.http import FileResponse, Http404, HttpRequest, QueryDict
from django.views.decorators.http import require_http_methods

T = TypeVar("T")

GET_POST = require_http_methods(["GET", "POST"])


def form_errors_from(
    form: BaseForm, exc: ValidationError, *, field_map: Mapping[str, str] | None = None
) -> None:
    """Put a service's refusal next to the form field it concerns, else above the form.

    Services name model fields; ``field_map`` renames those that the form calls otherwise
    (``{"starts_at": "time"}``).
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    renames = field_map or {}
    for name, errors in exc.error_dict.items():
        target = renames.get(name, name)
        form.add_error(target if target in form.fields else None, errors)


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What ``attempt`` gives back: the service's result, or a refusal now on the form."""

    ok: bool
    value: T | None = None


def attempt(
    form: BaseForm, action: Callable[[], T], *, field_map: Mapping[str, str] | None = None
) -> Attempt[T]:
    """Run ``action`` (one service call); on ``ValidationError`` show it on ``form``."""
    try:
        value = action()
    except ValidationError as exc:
        form_errors_from(form, exc, field_map=field_map)
        return Attempt(ok=False)
    return Attempt(ok=True, value=value)


def download_response(file: File[bytes], filename: str, content_type: str) -> FileResponse:
    """Always a download, never shown inline, with the type decided when it was stored."""
    response = FileResponse(
        file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def parse_uuid(value: str | uuid_lib.UUID) -> uuid_lib.UUID:
    """A UUID from a URL or form value; ``Http404`` for anything else."""
    if isinstance(value, uuid_lib.UUID):
        return value
    try:
        return uuid_lib.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Http404 from None


def posted(request: HttpRequest) -> QueryDict | None:
    """The posted data on POST (even when empty, so that errors show), else ``None``."""
    return request.POST if request.method == "POST" else None
