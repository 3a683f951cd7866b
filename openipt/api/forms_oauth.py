"""Forms of SMART authorisation: the approval form and the registration forms (an app, a
backend service)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm

from openipt.api import backend
from openipt.clients.models import Client


class ClientChoiceField(forms.ModelChoiceField[Client]):
    def label_from_instance(self, obj: Client) -> str:
        return (
            f"{obj.display_name} ({obj.date_of_birth:%d %b %Y})"
            if obj.date_of_birth
            else str(obj.display_name)
        )


class SmartAllowForm(AllowForm):  # type: ignore[misc]  # DOT ships no type hints
    """DOT's approval form (its hidden fields carry the request) plus, for staff, the
    client the app will be confined to. Only clients the approver may see are choices."""

    patient = ClientChoiceField(
        queryset=Client.objects.none(),
        required=False,
        to_field_name="uuid",
        label=_("Client"),
        empty_label=_("Choose a client"),
    )

    def __init__(self, *args: Any, patients: QuerySet[Client] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = (
            patients if patients is not None else Client.objects.none()
        )


_https_url = URLValidator(schemes=["https"])


class AppRegisterForm(forms.Form):
    """A practice administrator registers a SMART app."""

    name = forms.CharField(label=_("App name"), max_length=255)
    redirect_uris = forms.CharField(
        label=_("Redirect addresses"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The app's sign-in return addresses, one per line; each must start with https://."
        ),
    )
    confidential = forms.TypedChoiceField(
        label=_("Kind of app"),
        choices=[
            ("0", _("Public: runs on a phone or in a browser and keeps no secret")),
            ("1", _("Confidential: runs on a server that keeps a secret safe")),
        ],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="0",
    )

    def clean_redirect_uris(self) -> list[str]:
        uris = [line.strip() for line in self.cleaned_data["redirect_uris"].splitlines()]
        uris = [uri for uri in uris if uri]
        if not uris:
            raise ValidationError(_("Give at least one redirect address."))
        for uri in uris:
            try:
                _https_url(uri)
            except ValidationError as bad:
                raise ValidationError(
                    _("%(uri)s is not an https:// address.") % {"uri": uri}
                ) from bad
            if urlsplit(uri).fragment:
                raise ValidationError(_("A redirect address cannot contain #."))
        return uris


class BackendRegisterForm(forms.Form):
    """A practice administrator registers a backend service: its name and public keys."""

    name = forms.CharField(label=_("Service name"), max_length=255)
    jwks = forms.CharField(
        label=_("Public keys (JWKS)"),
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_(
            'The service\'s public keys as a JSON Web Key Set: {"keys": [...]}. RSA keys '
            "(RS384, at least 2048 bits) or P-384 EC keys (ES384), each with its own kid. "
            "Never paste a private key."
        ),
    )

    def clean_jwks(self) -> dict[str, object]:
        try:
            return backend.jwks_parse(self.cleaned_data["jwks"])
        except backend.JwksError as bad:
            raise ValidationError(str(bad)) from bad
