"""Behind a reverse proxy: who the client is, for the audit log and the rate limits
(OPENIPT_TRUSTED_PROXIES, openipt/core/net.py; docs/quality.md S4, S9)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from openipt.accounts.adapter import AccountAdapter
from openipt.audit.models import AuditEvent
from openipt.audit.services import client_address
from openipt.core.net import resolve_client_address, trusted_networks
from openipt.engagement.consultation import RATE_LIMIT
from openipt.engagement.models import ConsultationRequest
from openipt.testing.personas import Personas

PROXY = "10.0.0.5"
BEHIND_PROXY = override_settings(OPENIPT_TRUSTED_PROXIES=[PROXY])


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The rate limits count in the cache."""
    cache.clear()
    yield
    cache.clear()


def resolve(remote: str, forwarded: str, *trusted: str) -> str:
    return resolve_client_address(remote, forwarded, trusted_networks(trusted))


# --- Who the client is ----------------------------------------------------------------


def test_without_trusted_proxies_the_header_is_ignored():
    assert resolve("203.0.113.7", "198.51.100.1") == "203.0.113.7"
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_address(request) == PROXY  # the default setting is empty


def test_a_trusted_proxy_names_the_client():
    assert resolve(PROXY, "198.51.100.1", PROXY) == "198.51.100.1"
    assert resolve(PROXY, "", PROXY) == PROXY  # no header: the proxy itself


def test_a_header_from_an_untrusted_address_is_ignored():
    assert resolve("203.0.113.7", "198.51.100.1", PROXY) == "203.0.113.7"


def test_the_rightmost_untrusted_hop_wins_over_anything_the_client_wrote():
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real address.
    assert resolve(PROXY, "1.2.3.4, 198.51.100.1", PROXY) == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right():
    chain = "1.2.3.4, 198.51.100.1, 10.0.0.9, 10.0.0.8"
    assert resolve(PROXY, chain, PROXY, "10.0.0.8", "10.0.0.9") == "198.51.100.1"
    # A hop that is not trusted stops the walk, even if a trusted one is further left.
    assert resolve(PROXY, "198.51.100.1, 10.0.0.9, 10.0.0.8", PROXY, "10.0.0.8") == "10.0.0.9"


def test_networks_are_trusted_as_a_whole():
    chain = "198.51.100.1, 172.16.4.1, 172.31.255.254"
    assert resolve("172.20.0.1", chain, "172.16.0.0/12") == "198.51.100.1"
    assert resolve("172.32.0.1", chain, "172.16.0.0/12") == "172.32.0.1"  # outside /12
    assert resolve("fd00::1", "2001:db8::7, fd00::2", "fd00::/8") == "2001:db8::7"


def test_when_every_hop_is_trusted_the_leftmost_is_the_client():
    assert resolve(PROXY, "10.1.2.3, 10.0.0.9", "10.0.0.0/8") == "10.1.2.3"


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        ("unknown", PROXY),  # garbage where the proxy's view of the client belongs
        ("garbage, 198.51.100.1", "198.51.100.1"),  # client-written garbage is left of it
        ("198.51.100.1, not-an-ip, 10.0.0.9", "10.0.0.9"),  # nothing past garbage believed
        ("", PROXY),
        (" , ", PROXY),
        ("198.51.100.1:52100", "198.51.100.1"),  # ports are dropped
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("<script>", PROXY),
    ],
)
def test_malformed_values_are_ignored(chain, expected):
    assert resolve(PROXY, chain, PROXY, "10.0.0.9") == expected


def test_a_bad_trusted_proxy_setting_stops_start_up():
    with pytest.raises(ImproperlyConfigured, match="not-a-network"):
        trusted_networks(["10.0.0.0/8", "not-a-network"])
    with pytest.raises(ImproperlyConfigured):
        trusted_networks(["10.0.0.0/33"])


@BEHIND_PROXY
def test_allauth_counts_the_same_address():
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert AccountAdapter(request).get_client_ip(request) == "198.51.100.1"


# --- Rate limits ----------------------------------------------------------------------


def consult(browser: Client, url: str, **headers: str) -> int:
    data = {
        "name": "Pat Requester",
        "email": "pat@example.test",
        "reason": "Low mood",
        "consent_to_contact": "on",
        "website": "",
    }
    return browser.post(url, data, **headers).status_code


@pytest.fixture
def consultation_url(personas: Personas) -> str:
    return f"/consultation/?practice={personas.practice.uuid}"


def via_proxy(client_ip: str) -> dict[str, str]:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_ip}


@BEHIND_PROXY
@pytest.mark.django_db
def test_two_clients_behind_one_proxy_are_limited_separately(consultation_url):
    browser = Client()
    first = [consult(browser, consultation_url, **via_proxy("198.51.100.1")) for _ in range(6)]
    assert first == [302] * RATE_LIMIT + [429]
    assert consult(browser, consultation_url, **via_proxy("198.51.100.2")) == 302
    assert consult(browser, consultation_url, **via_proxy("198.51.100.1")) == 429


@BEHIND_PROXY
@pytest.mark.django_db
def test_a_forged_header_from_an_untrusted_address_does_not_dodge_the_limit(
    consultation_url,
):
    browser = Client()
    statuses = [
        consult(
            browser,
            consultation_url,
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
        for n in range(RATE_LIMIT + 2)
    ]
    assert statuses == [302] * RATE_LIMIT + [429, 429]
    assert ConsultationRequest.objects.count() == RATE_LIMIT


@BEHIND_PROXY
@pytest.mark.django_db
def test_a_client_behind_the_proxy_cannot_forge_its_way_past_the_limit(consultation_url):
    browser = Client()
    statuses = [
        consult(browser, consultation_url, **via_proxy(f"1.2.3.{n}, 198.51.100.1"))
        for n in range(RATE_LIMIT + 1)
    ]
    assert statuses == [302] * RATE_LIMIT + [429]


def fail_sign_in(browser: Client, n: int, **headers: str) -> str:
    response = browser.post(
        reverse("account_login"),
        {"login": f"nobody{n}@riverside.test", "password": "wrong guess 123"},
        **headers,
    )
    return response.content.decode()


@BEHIND_PROXY
def test_failed_sign_ins_are_limited_per_client_behind_the_proxy(personas):
    browser = Client()
    for n in range(5):  # ACCOUNT_RATE_LIMITS["login_failed"]: 5 per 5 minutes per address
        assert "Too many" not in fail_sign_in(browser, n, **via_proxy("198.51.100.1"))
    assert "Too many failed login attempts" in fail_sign_in(browser, 9, **via_proxy("198.51.100.1"))
    assert "Too many" not in fail_sign_in(browser, 10, **via_proxy("198.51.100.2"))


@BEHIND_PROXY
def test_failed_sign_ins_with_forged_headers_are_limited_by_the_real_address(personas):
    browser = Client()
    headers = {"REMOTE_ADDR": "203.0.113.7"}
    for n in range(5):
        fail_sign_in(browser, n, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", **headers)
    page = fail_sign_in(browser, 9, HTTP_X_FORWARDED_FOR="198.51.100.99", **headers)
    assert "Too many failed login attempts" in page


# --- The audit log --------------------------------------------------------------------


@BEHIND_PROXY
def test_the_audit_log_records_the_client_behind_the_proxy(alice_client, personas):
    url = reverse("clients:detail", kwargs={"client_uuid": personas.dana.uuid})
    assert alice_client.get(url, **via_proxy("1.2.3.4, 198.51.100.1")).status_code == 200
    event = AuditEvent.objects.filter(action="read").latest("id")
    assert event.source_address == "198.51.100.1"


@BEHIND_PROXY
def test_the_audit_log_ignores_a_header_from_an_untrusted_address(alice_client, personas):
    url = reverse("clients:detail", kwargs={"client_uuid": personas.dana.uuid})
    alice_client.get(url, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert AuditEvent.objects.filter(action="read").latest("id").source_address == "203.0.113.7"


@BEHIND_PROXY
@pytest.mark.django_db
def test_a_public_consultation_request_is_audited_with_the_clients_address(consultation_url):
    consult(Client(), consultation_url, **via_proxy("2001:db8::7"))
    event = AuditEvent.objects.get(action="create", object_type__contains="consultation")
    assert event.source_address == "2001:db8::7"
