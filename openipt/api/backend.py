"""SMART Backend Services: a practice's own system reads and exports without a person.

A practice administrator registers a backend service with its public keys (a JWKS; RS384
and ES384 keys, each with a ``kid``). The service asks the token endpoint for a token with
the client credentials grant, authenticating with a JWT it signs (``private_key_jwt``,
RFC 7523): ``iss`` and ``sub`` its client id, ``aud`` the token endpoint, ``exp`` at most
five minutes ahead, a ``jti`` never used before. It gets a five-minute access token for
``system/`` read scopes, with no refresh token; the token acts with the authority of the
administrator who registered the service, checked again at every request
(``smart.acts_for``). Keys are never fetched from anywhere: only the registered ones count.

Every refusal here is ``AssertionRefused``, answered by the validator as ``invalid_client``
(docs/smart.md "Backend services", ADR 23).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application

from openipt.accounts import policy
from openipt.accounts.models import User
from openipt.api import smart
from openipt.api.models import SmartApp, TokenContext, UsedAssertion
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Where the token view leaves the token endpoint's absolute address for the validator (a
#: request header no client can send: HTTP headers arrive prefixed with ``HTTP_``).
TOKEN_URL_KEY = "OPENIPT_TOKEN_URL"  # noqa: S105 - a name, not a secret
#: The signing algorithms SMART requires servers to support, and the only ones taken.
ALGORITHMS = ("RS384", "ES384")
_ALGORITHM_OF = {"RSA": "RS384", "EC": "ES384"}
#: How far ahead a client assertion's ``exp`` may be (SMART: five minutes).
MAX_ASSERTION_SECONDS = 300
#: Clock difference forgiven on ``exp``, ``iat`` and ``nbf``.
LEEWAY_SECONDS = 5
#: A backend service's access token lasts five minutes; it asks again for a new one.
TOKEN_SECONDS = 300
MIN_RSA_BITS = 2048
MAX_KEYS = 10
MAX_JWKS_CHARS = 50_000
#: Members of a private (or symmetric) key: never accepted at registration.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_PUBLIC_MEMBERS = {
    "RSA": ("kty", "kid", "alg", "use", "n", "e"),
    "EC": ("kty", "kid", "alg", "use", "crv", "x", "y"),
}


class JwksError(ValueError):
    """A pasted key set that cannot be registered (the message says why, for the form)."""


class AssertionRefused(Exception):
    """A client assertion that does not authenticate its backend service."""


# --- Registering -----------------------------------------------------------------------


def jwks_parse(text: str) -> dict[str, Any]:
    """The key set of a registration, checked and reduced to the public members of each
    key: RSA keys (RS384, at least 2048 bits) and P-384 EC keys (ES384), each with a kid
    of its own. A private key is refused, not quietly stripped: it has been exposed."""
    if len(text) > MAX_JWKS_CHARS:
        raise JwksError(_("The key set is too long."))
    try:
        document = json.loads(text)
    except ValueError as bad:
        raise JwksError(_("The key set is not JSON.")) from bad
    if isinstance(document, dict) and "kty" in document:
        document = {"keys": [document]}  # one key pasted on its own
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise JwksError(_('Paste a JWKS: a JSON object with a "keys" list of public keys.'))
    if len(keys) > MAX_KEYS:
        raise JwksError(_("Register at most %(count)s keys.") % {"count": MAX_KEYS})
    kept: list[dict[str, Any]] = []
    for key in keys:
        clean = _public_key(key)
        if any(other["kid"] == clean["kid"] for other in kept):
            raise JwksError(_("Two keys have the kid %(kid)s.") % {"kid": clean["kid"]})
        kept.append(clean)
    return {"keys": kept}


def _public_key(key: Any) -> dict[str, Any]:
    if not isinstance(key, dict):
        raise JwksError(_("Every key must be a JSON object."))
    kid = key.get("kid")
    if not isinstance(kid, str) or not kid.strip() or len(kid) > 255:
        raise JwksError(_("Every key needs a kid (its name)."))
    if _PRIVATE_MEMBERS & set(key):
        raise JwksError(
            _(
                "The key %(kid)s holds a private part. Paste the public keys only, and make a "
                "new key pair: this private key has left its system."
            )
            % {"kid": kid}
        )
    kty = key.get("kty")
    if kty not in _ALGORITHM_OF:
        raise JwksError(_("The key %(kid)s is neither an RSA nor an EC key.") % {"kid": kid})
    alg = key.get("alg", _ALGORITHM_OF[kty])
    if alg != _ALGORITHM_OF[kty]:
        raise JwksError(
            _("The key %(kid)s must be for %(alg)s.") % {"kid": kid, "alg": _ALGORITHM_OF[kty]}
        )
    if key.get("use", "sig") != "sig":
        raise JwksError(_("The key %(kid)s must be a signing key (use: sig).") % {"kid": kid})
    if kty == "EC" and key.get("crv") != "P-384":
        raise JwksError(_("The EC key %(kid)s must be on the P-384 curve.") % {"kid": kid})
    clean = {name: key[name] for name in _PUBLIC_MEMBERS[kty] if name in key}
    clean["alg"] = alg
    try:
        public = jwt.PyJWK(clean, algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as bad:
        raise JwksError(_("The key %(kid)s cannot be read.") % {"kid": kid}) from bad
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        raise JwksError(
            _("The RSA key %(kid)s is shorter than %(bits)s bits.")
            % {"kid": kid, "bits": MIN_RSA_BITS}
        )
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise JwksError(_("The key %(kid)s is not a public key.") % {"kid": kid})
    return clean


@transaction.atomic
def backend_register(
    *, actor: User, name: str, jwks: Mapping[str, Any], request: HttpRequest | None = None
) -> SmartApp:
    """Register a backend service for the actor's practice (administrators only), bound to
    the actor as the person whose authority its tokens act with. ``jwks`` is what
    ``jwks_parse`` returned."""
    membership = policy.active_membership(actor)
    if membership is None or not policy.can_manage_apps(membership):
        raise PermissionError("Only a practice administrator registers backend services")
    application = smart.new_application(
        actor=actor,
        name=name,
        redirect_uris=[],
        confidential=True,
        grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        # A secret nobody is shown, so that no secret can ever authenticate it: only a
        # client assertion signed by one of its keys does.
        secret=generate_client_secret(),
    )
    app = SmartApp.objects.create(
        application=application,
        practice=membership.practice,
        registered_by=actor,
        kind=SmartApp.Kind.BACKEND,
        jwks=dict(jwks),
    )
    kids = ", ".join(str(key["kid"]) for key in jwks["keys"])[:300]
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=app,
        practice_id=membership.practice_id,
        request=request,
        detail=f"SMART backend service registered; keys: {kids}",
    )
    return app


def live_tokens(app: SmartApp) -> QuerySet[AccessToken]:
    """The service's tokens that still work (for its page)."""
    tokens: QuerySet[AccessToken] = AccessToken.objects.filter(
        application_id=app.application_id, expires__gt=timezone.now()
    )
    return tokens


# --- Authenticating a token request ------------------------------------------------------


def _key(app: SmartApp, kid: str, alg: str) -> jwt.PyJWK | None:
    for key in (app.jwks or {}).get("keys", []):
        if key.get("kid") == kid and key.get("alg", _ALGORITHM_OF.get(key.get("kty"))) == alg:
            return jwt.PyJWK(key, algorithm=alg)
    return None


def verify_assertion(assertion: str, *, token_url: str) -> SmartApp:
    """The enabled backend service whose registered key signed this client assertion, all
    its claims checked, and its ``jti`` spent; ``AssertionRefused`` otherwise."""
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as bad:
        raise AssertionRefused("The client_assertion is not a signed JWT.") from bad
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AssertionRefused("Sign the client assertion with RS384 or ES384.")
    if "jku" in header or "x5u" in header:
        raise AssertionRefused("Keys are registered with OpenIPT, never fetched: leave out jku.")
    if not token_url:  # the revocation endpoint, say: tokens last five minutes anyway
        raise AssertionRefused("Client assertions are taken at the token endpoint only.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AssertionRefused("The client assertion's header needs the kid of a registered key.")
    client_id = unverified.get("iss")
    app = (
        SmartApp.objects.select_related("application", "registered_by")
        .filter(
            application__client_id=client_id if isinstance(client_id, str) else "",
            kind=SmartApp.Kind.BACKEND,
            disabled_at__isnull=True,
        )
        .first()
    )
    if app is None:
        raise AssertionRefused("No enabled backend service has this client id (iss).")
    key = _key(app, kid, alg)
    if key is None:
        raise AssertionRefused(f"No registered key has kid {kid[:64]!r} for {alg}.")
    claims = _verified_claims(assertion, key, alg, client_id=str(client_id), token_url=token_url)
    now = timezone.now().timestamp()
    exp = float(claims["exp"])
    if exp > now + MAX_ASSERTION_SECONDS + LEEWAY_SECONDS:
        raise AssertionRefused("exp must be no more than five minutes ahead.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise AssertionRefused("jti must be a string of at most 255 characters.")
    if smart.acts_for(app) is None:
        raise AssertionRefused(
            "The administrator responsible for this backend service no longer administers "
            "its practice; an administrator must register it again."
        )
    _spend(app, jti, exp)
    return app


def _verified_claims(
    assertion: str, key: jwt.PyJWK, alg: str, *, client_id: str, token_url: str
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key=key,
            algorithms=[alg],
            audience=token_url,
            issuer=client_id,
            subject=client_id,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.InvalidSignatureError as bad:
        raise AssertionRefused("The client assertion's signature does not verify.") from bad
    except jwt.ExpiredSignatureError as bad:
        raise AssertionRefused("The client assertion has expired.") from bad
    except jwt.InvalidAudienceError as bad:
        raise AssertionRefused(f"aud must be the token endpoint, {token_url}.") from bad
    except jwt.exceptions.InvalidSubjectError as bad:
        raise AssertionRefused("sub must be the client id, as iss is.") from bad
    except jwt.MissingRequiredClaimError as bad:
        raise AssertionRefused(f"The client assertion has no {bad.claim} claim.") from bad
    except jwt.ImmatureSignatureError as bad:
        raise AssertionRefused("The client assertion is not valid yet (iat or nbf).") from bad
    except jwt.PyJWTError as bad:
        raise AssertionRefused("The client assertion's claims do not verify.") from bad
    return claims


def _spend(app: SmartApp, jti: str, exp: float) -> None:
    """Remember the ``jti`` until its assertion could no longer be accepted anyway; a
    second use is a replay. Forgets what has expired."""
    now = timezone.now()
    UsedAssertion.objects.filter(expires_at__lt=now).delete()
    until = dt.datetime.fromtimestamp(exp + LEEWAY_SECONDS, tz=dt.UTC)
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(app=app, jti=jti, expires_at=until)
    except IntegrityError as replay:
        raise AssertionRefused("This client assertion (its jti) has been used before.") from replay


# --- The token issued --------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    app: SmartApp
    context: TokenContext


def token_issued(*, app: SmartApp, token: AccessToken) -> Issued:
    """The token's context (its public id) and its audit event, naming the service and
    the administrator whose authority it acts with."""
    context = TokenContext.objects.create(access_token=token)
    audit.record(
        actor=app.registered_by,
        action=AuditEvent.Action.CREATE,
        object_type="api.accesstoken",
        object_id=str(context.uuid),
        practice_id=app.practice_id,
        detail=f"SMART backend token issued to {app.uuid} ({app.application.name}): {token.scope}"[
            :500
        ],
    )
    return Issued(app=app, context=context)
