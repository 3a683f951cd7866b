"""The template kit: the navigation built from data, the one field component, the error
summary and the pagination component."""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace
from typing import Any

import pytest
from django import forms
from django.core.paginator import Paginator
from django.forms.renderers import get_default_renderer
from django.template import engines
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import resolve, reverse

from openipt.accounts.models import Membership
from openipt.core.forms import FormRenderer
from openipt.portal.tests.matrix import dana_user
from openipt.testing.personas import Personas
from openipt.workspace.context_processors import navigation
from openipt.workspace.navigation import nav_items

# --- Navigation ---------------------------------------------------------------------------

# templates/components/nav.html before the navigation became data: the reference for the
# visibility of every entry, for every role combination, and for aria-current.
OLD_NAV = """{% load i18n %}{% if membership and membership.kind == "staff" %}
{% url 'core:home' as u %}<li><a href="{{ u }}"{% if nav_section == "dashboard" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Dashboard" %}</a></li>
{% if membership.is_clinician or membership.is_supervisor or membership.is_admin %}{% url 'clients:list' as u %}<li><a href="{{ u }}"{% if nav_section == "clients" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Clients" %}</a></li>{% endif %}
{% if membership.is_clinician or membership.is_admin %}{% url 'intake:list' as u %}<li><a href="{{ u }}"{% if nav_section == "requests" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Requests" %}</a></li>{% endif %}
{% if membership.is_clinician %}{% url 'treatment:caseload' as u %}<li><a href="{{ u }}"{% if nav_section == "caseload" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Caseload" %}</a></li>
{% url 'scheduling:week' as u %}<li><a href="{{ u }}"{% if nav_section == "schedule" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Schedule" %}</a></li>{% endif %}
{% if membership.is_clinician or membership.is_supervisor %}{% url 'inbox:list' as u %}<li><a href="{{ u }}"{% if nav_section == "inbox" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Inbox" %}</a></li>{% endif %}
{% if membership.is_clinician or membership.is_supervisor %}{% url 'measures:alerts' as u %}<li><a href="{{ u }}"{% if nav_section == "alerts" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Alerts" %}{% if open_alert_count %} <span class="badge badge--danger">{{ open_alert_count }}<span class="visually-hidden"> {% translate "open" %}</span></span>{% endif %}</a></li>{% elif membership.is_admin %}{% url 'measures:practice-alerts' as u %}<li><a href="{{ u }}"{% if nav_section == "alerts" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Alerts" %}</a></li>{% endif %}
{% if membership.is_admin or membership.is_supervisor %}{% url 'outcomes:dashboard' as u %}<li><a href="{{ u }}"{% if nav_section == "outcomes" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Outcomes" %}</a></li>{% endif %}
{% if membership.is_supervisor %}{% url 'supervision:workspace' as u %}<li><a href="{{ u }}"{% if nav_section == "supervision" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Supervision" %}</a></li>{% endif %}
{% if membership.is_admin %}{% url 'accounts:staff-list' as u %}<li><a href="{{ u }}"{% if nav_section == "staff" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Staff" %}</a></li>
{% url 'accounts:practice-settings' as u %}<li><a href="{{ u }}"{% if nav_section == "practice" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Practice settings" %}</a></li>
{% url 'measures:instruments' as u %}<li><a href="{{ u }}"{% if nav_section == "questionnaires" %} aria-current="page"{% endif %}>{% translate "Questionnaires" %}</a></li>
{% url 'audit:report' as u %}<li><a href="{{ u }}"{% if nav_section == "audit" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Audit log" %}</a></li>
{% url 'research:export' as u %}<li><a href="{{ u }}"{% if nav_section == "research" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Research export" %}</a></li>
{% url 'smart:apps' as u %}<li><a href="{{ u }}"{% if request.resolver_match.namespace == "smart" and "connected" not in request.resolver_match.url_name %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Apps" %}</a></li>{% endif %}
{% url 'smart:connected' as u %}<li><a href="{{ u }}"{% if request.resolver_match.namespace == "smart" and "connected" in request.resolver_match.url_name %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Connected apps" %}</a></li>
{% endif %}
{% if not membership or membership.kind != "client" %}{% url 'accounts:language' as u %}<li><a href="{{ u }}"{% if request.resolver_match.view_name == "accounts:language" %} aria-current="page"{% endif %}>{% translate "Language" %}</a></li>{% endif %}
{% url 'mfa_index' as u %}<li><a href="{{ u }}"{% if nav_section == "security" %} aria-current="{% if request.path == u %}page{% else %}true{% endif %}"{% endif %}>{% translate "Security" %}</a></li>"""  # noqa: E501

LINK = re.compile(r"<a href=\"[^\"]*\"[^>]*>.*?</a>", re.S)

# Where the comparison is made: the page of every entry, a page inside a section, and one
# page that belongs to no entry.
PATHS = [
    "/",
    "/clients/",
    "/clients/new/",
    "/intake/",
    "/caseload/",
    "/schedule/",
    "/alerts/",
    "/alerts/practice/",
    "/staff/",
    "/staff/invite/",
    "/questionnaires/",
    "/audit/",
    "/outcomes/",
    "/supervision/",
    "/supervision/meetings/new/",
    "/research-export/",
    "/oauth/apps/",
    "/oauth/apps/new/",
    "/oauth/apps/connected/",
    "/accounts/2fa/",
    "/portal/help/",
    "/language/",
]


def _request(path: str, membership: Membership | None, *, signed_in: bool = True) -> Any:
    request: Any = RequestFactory().get(path)
    request.resolver_match = resolve(path)
    request.user = SimpleNamespace(is_authenticated=signed_in, pk=1)
    request.membership = membership
    return request


def _links(html: str) -> list[str]:
    return [" ".join(link.split()) for link in LINK.findall(html)]


def _labels(request: Any) -> list[str]:
    return [str(item.label) for item in nav_items(request)]


ROLE_COMBINATIONS = [
    dict(zip(("is_clinician", "is_supervisor", "is_admin"), roles, strict=True))
    for roles in itertools.product([False, True], repeat=3)
]


@pytest.fixture
def alerts_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two open alerts for whoever asks (no database needed)."""
    monkeypatch.setattr("openipt.measures.selectors.open_alert_count", lambda user: 2)


@pytest.mark.usefixtures("alerts_open")
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("kind", ["staff", "client"])
@pytest.mark.parametrize("roles", ROLE_COMBINATIONS, ids=lambda r: "+".join(k for k in r if r[k]))
def test_navigation_shows_the_same_entries_as_before_for_every_role(path, kind, roles):
    membership = Membership(kind=kind, **roles)
    request = _request(path, membership)
    expected = engines["django"].from_string(OLD_NAV).render({}, request)
    actual = render_to_string("components/nav.html", {}, request)
    assert _links(actual) == _links(expected)
    assert actual.count('class="main-nav__signout"') == 1


@pytest.mark.usefixtures("alerts_open")
def test_navigation_without_a_membership_offers_security_only_and_none_signed_out():
    request = _request("/accounts/2fa/", None)
    expected = engines["django"].from_string(OLD_NAV).render({}, request)
    assert _links(render_to_string("components/nav.html", {}, request)) == _links(expected)
    assert _labels(request) == ["Language", "Security"]
    assert nav_items(_request("/", None, signed_in=False)) == []


STAFF_ENTRIES = ["Dashboard", "Clients", "Requests", "Caseload", "Schedule", "Inbox", "Alerts"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("alice", [*STAFF_ENTRIES, "Connected apps", "Language", "Security"]),  # clinician
        # clinician and supervisor
        (
            "bob",
            [*STAFF_ENTRIES, "Outcomes", "Supervision", "Connected apps", "Language", "Security"],
        ),
        (
            "adam",  # administrator, no clinical role
            [
                "Dashboard",
                "Clients",
                "Requests",
                "Alerts",
                "Outcomes",
                "Staff",
                "Practice settings",
                "Questionnaires",
                "Audit log",
                "Research export",
                "Apps",
                "Connected apps",
                "Language",
                "Security",
            ],
        ),
    ],
)
def test_each_staff_persona_sees_exactly_their_entries(personas: Personas, persona, expected):
    user = getattr(personas, persona)
    request = _request("/", personas.membership(user))
    request.user = user
    assert _labels(request) == expected
    alerts = [item for item in nav_items(request) if item.key == "alerts"]
    assert [item.url for item in alerts] == [
        reverse("measures:practice-alerts" if persona == "adam" else "measures:alerts")
    ]


@pytest.mark.django_db
def test_a_supervisor_without_clients_of_their_own(personas: Personas):
    membership = Membership(
        kind="staff", practice=personas.practice, is_supervisor=True, is_clinician=False
    )
    assert _labels(_request("/", membership)) == [
        "Dashboard", "Clients", "Inbox", "Alerts", "Outcomes", "Supervision", "Connected apps",
        "Language", "Security",
    ]  # fmt: skip


@pytest.mark.django_db
def test_a_client_member_sees_only_security(personas: Personas):
    dana = dana_user(personas)
    request = _request("/accounts/2fa/", personas.membership(dana))
    request.user = dana
    items = nav_items(request)
    assert [(str(i.label), i.url, i.current) for i in items] == [
        ("Security", reverse("mfa_index"), "page")
    ]


@pytest.mark.django_db
def test_current_entry_and_alert_badge_on_a_rendered_page(alice_client, monkeypatch):
    monkeypatch.setattr("openipt.measures.selectors.open_alert_count", lambda user: 1)
    html = alice_client.get(reverse("clients:create")).content.decode()
    nav = html[html.index('<nav class="main-nav"') : html.index("</nav>")]
    assert '<a href="/clients/" aria-current="true">Clients</a>' in nav
    assert nav.count("aria-current") == 1
    assert 'badge badge--danger">1<' in nav


@pytest.mark.django_db
def test_navigation_runs_no_query_until_the_badge_is_shown(personas: Personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    alice = personas.alice
    request = _request("/alerts/", personas.membership(alice))
    request.user = alice
    with CaptureQueriesContext(connection) as ctx:
        context = navigation(request)
        items = list(context["nav_items"])
    assert len(ctx) == 0
    badge = next(item.badge for item in items if item.key == "alerts")
    assert badge is context["open_alert_count"]  # one count for the badge and the dashboard
    with CaptureQueriesContext(connection) as ctx:
        assert int(str(badge)) == 0
        assert int(str(context["open_alert_count"])) == 0
    assert len(ctx) == 1


# --- The field component ------------------------------------------------------------------


class SampleForm(forms.Form):
    name = forms.CharField(label="Your name", help_text="As on your passport.")
    nickname = forms.CharField(label="Nickname", required=False)
    agree = forms.BooleanField(label="I agree", help_text="You can change your mind.")
    colour = forms.ChoiceField(
        label="Colour", choices=[("r", "Red"), ("g", "Green")], widget=forms.RadioSelect,
        help_text="Pick one.",
    )  # fmt: skip
    rating = forms.ChoiceField(
        label="Rating", choices=[(str(n), str(n)) for n in range(3)],
        widget=forms.RadioSelect(attrs={"class": "scale"}),
    )  # fmt: skip
    pets = forms.MultipleChoiceField(
        label="Pets", choices=[("c", "Cat"), ("d", "Dog")], required=False,
        widget=forms.CheckboxSelectMultiple, help_text="Any you have.",
    )  # fmt: skip
    nobody = forms.MultipleChoiceField(
        label="Nobody", choices=[], required=False, widget=forms.CheckboxSelectMultiple
    )
    notes = forms.CharField(label="Notes", widget=forms.Textarea, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        raise forms.ValidationError("Someone else changed this record.")


def _bound() -> SampleForm:
    form = SampleForm(data={"name": "", "colour": "x", "version": "v"})
    assert not form.is_valid()
    return form


def test_forms_render_through_the_project_renderer():
    assert isinstance(get_default_renderer(), FormRenderer)
    assert SampleForm()["name"].template_name == "components/field.html"


def test_a_text_field_has_label_help_error_and_describedby():
    html = _bound()["name"].as_field_group()
    assert '<div class="field field--error">' in html
    assert '<label for="id_name">Your name</label>' in html
    assert '<p class="help" id="id_name_helptext">As on your passport.</p>' in html
    assert '<ul class="errorlist" id="id_name_error"><li>This field is required.</li></ul>' in html
    assert 'aria-describedby="id_name_helptext id_name_error"' in html
    assert 'aria-invalid="true"' in html
    # Label, help and error come before the input.
    assert html.index("id_name_error") < html.index("<input")


def test_a_field_without_errors_points_to_its_help_only():
    html = SampleForm()["name"].as_field_group()
    assert "field--error" not in html
    assert 'aria-describedby="id_name_helptext"' in html
    assert "_error" not in html


def test_a_checkbox_sits_inside_its_label_with_help_and_error():
    html = _bound()["agree"].as_field_group()
    assert re.search(
        r'<label class="checkbox" for="id_agree"><input type="checkbox"[^>]*> I agree</label>', html
    )
    assert 'id="id_agree_helptext"' in html
    assert '<ul class="errorlist" id="id_agree_error">' in html
    assert 'aria-describedby="id_agree_helptext id_agree_error"' in html


def test_radio_buttons_are_a_fieldset_described_by_help_and_error():
    html = _bound()["colour"].as_field_group()
    described = 'aria-describedby="id_colour_helptext id_colour_error"'
    assert f'<fieldset class="field field--error" {described}>' in html
    assert "<legend>Colour</legend>" in html
    assert '<div class="choices">' in html
    assert '<label class="choice" for="id_colour_0">' in html
    assert '<ul class="errorlist" id="id_colour_error">' in html
    scale = SampleForm()["rating"].as_field_group()
    assert '<div class="choices choices--scale">' in scale


def test_checkbox_lists_and_an_empty_one():
    html = SampleForm()["pets"].as_field_group()
    assert '<fieldset class="field" aria-describedby="id_pets_helptext">' in html
    assert '<label class="checkbox" for="id_pets_1">' in html
    assert "No one to choose yet." in SampleForm()["nobody"].as_field_group()


def test_hidden_fields_are_only_the_input():
    html = SampleForm()["version"].as_field_group()
    assert html.strip().startswith('<input type="hidden"')
    assert "<label" not in html


def test_optional_fields_are_marked_where_the_page_asks():
    form = SampleForm()
    marked = render_to_string(
        "components/field.html", {"field": form["nickname"], "mark_optional": True}
    )
    assert 'Nickname <span class="muted">(optional)</span></label>' in marked
    required = render_to_string(
        "components/field.html", {"field": form["name"], "mark_optional": True}
    )
    assert "(optional)" not in required
    assert "(optional)" not in form["nickname"].as_field_group()


# --- Error summary and whole forms --------------------------------------------------------


def test_error_summary_default_wording_and_the_pages_own():
    form = _bound()
    default = render_to_string("components/form_errors.html", {"form": form})
    assert 'class="form-errors" role="alert"' in default
    assert "Please check the highlighted fields." in default
    assert "Someone else changed this record." in default
    assert "Enter a whole number." in default  # the hidden field's error has no field to sit by
    own = (
        engines["django"]
        .from_string(
            '{% include "components/form_errors.html" with summary=_("Nothing has been saved yet.'
            ' Please correct the items marked below.") %}'
        )
        .render({"form": form})
    )
    assert "Nothing has been saved yet. Please correct the items marked below." in own
    assert "Please check the highlighted fields." not in own
    assert not render_to_string("components/form_errors.html", {"form": SampleForm()}).strip()


def test_error_summary_without_a_sentence_shows_only_errors_without_a_field():
    form = _bound()
    html = render_to_string("components/form_errors.html", {"form": form, "no_summary": True})
    assert "Someone else changed this record." in html
    assert "Please check" not in html
    only_fields = SampleForm(data={"name": ""})
    only_fields.clean = lambda: only_fields.cleaned_data  # type: ignore[method-assign]
    only_fields.is_valid()
    quiet = {"form": only_fields, "no_summary": True}
    assert render_to_string("components/form_errors.html", quiet).strip() == ""


def test_a_whole_form_renders_summary_hidden_and_every_field():
    html = str(_bound())
    assert html.index('role="alert"') < html.index('<input type="hidden" name="version"')
    assert html.index('name="version"') < html.index('<label for="id_name">')
    for field in ("id_name_error", "id_agree_error", "id_colour_error", "id_notes"):
        assert field in html


# --- Pagination ---------------------------------------------------------------------------


def test_pagination_keeps_the_other_query_parameters():
    page = Paginator(range(30), 10).page(2)
    request = RequestFactory().get("/clients/", {"q": "smith & co", "status": "active", "page": 2})
    html = render_to_string("components/pagination.html", {"page": page}, request)
    assert '<nav class="pagination" aria-label="Pages">' in html
    assert 'href="?q=smith+%26+co&amp;status=active&amp;page=1" rel="prev">Previous</a>' in html
    assert 'href="?q=smith+%26+co&amp;status=active&amp;page=3" rel="next">Next</a>' in html
    assert "Page 2 of 3" in html


def test_pagination_labels_and_edges():
    request = RequestFactory().get("/audit/")
    first = Paginator(range(30), 10).page(1)
    html = (
        engines["django"]
        .from_string(
            '{% include "components/pagination.html" with label="Pages of results"'
            ' previous_label="Newer" next_label="Older" %}'
        )
        .render({"page": first}, request)
    )
    assert 'aria-label="Pages of results"' in html
    assert "Newer" not in html  # no previous page
    assert 'href="?page=2" rel="next">Older</a>' in html
    single = Paginator(range(3), 10).page(1)
    assert not render_to_string("components/pagination.html", {"page": single}, request).strip()


@pytest.mark.django_db
def test_client_search_pages_keep_the_search(alice_client, personas, settings):
    from openipt.testing.personas import make_client

    settings.OPENIPT_CLIENTS_PER_PAGE = 2
    for n in range(4):
        make_client(personas.practice, personas.alice, given=f"Sam{n}", family="Example")
    html = alice_client.get(reverse("clients:list"), {"q": "Example"}).content.decode()
    assert 'aria-label="Pages of results"' in html
    assert 'href="?q=Example&amp;page=2"' in html
    assert "Page 1 of 3" in html
