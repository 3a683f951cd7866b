"""The staff inbox: new client messages, diary entries, task reports and completed
questionnaires across the care team's clients; read state per person, audited; nothing
outside the care team; a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.clients import services as client_services
from openipt.engagement import inbox
from openipt.engagement.models import InboxRead, Message
from openipt.testing.personas import count_queries, make_client, make_staff
from openipt.treatment.tests.factories import make_course
from openipt.workspace.tests.matrix import (
    client_diary,
    client_message,
    client_questionnaire,
    client_task_report,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)


def signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def one_of_each(personas):
    """A message, a diary entry, a task report and a questionnaire from Dana, a minute
    apart, oldest first."""
    made = []
    course = make_course(personas.alice, personas.dana)
    with time_machine.travel(NOW, tick=False) as clock:
        made.append(client_message(personas.dana))
        clock.shift(60)
        made.append(client_diary(personas.dana))
        clock.shift(60)
        made.append(client_task_report(personas.alice, course, 1))
        clock.shift(60)
        made.append(client_questionnaire(personas.alice, personas.dana))
    return made


def item_kinds(html: str) -> list[str]:
    return re.findall(r'action="/inbox/(\w+)/[0-9a-f-]+/open/"', html)


def test_the_inbox_lists_every_kind_newest_first_and_records_one_read(personas, alice_client):
    one_of_each(personas)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        before = AuditEvent.objects.filter(action="read").count()
        response = alice_client.get(reverse("inbox:list"))
        reads = AuditEvent.objects.filter(action="read")
    html = response.content.decode()
    assert response.status_code == 200
    assert item_kinds(html) == ["questionnaire", "task", "diary", "message"]
    assert "Dana Example" in html
    assert "I had a hard week" in html
    assert "Mood 4 out of 10" in html
    assert "Phone my sister" in html
    assert reads.count() - before == 1
    assert reads.order_by("-id").first().object_type == "engagement.inbox"


def test_the_filters_narrow_the_list_by_kind_and_by_client(personas, alice_client):
    one_of_each(personas)
    eve = make_client(personas.practice, personas.alice, given="Eve", family="Other")
    client_message(eve, "From Eve")
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        only_messages = alice_client.get(reverse("inbox:list"), {"kind": "message"})
        only_eve = alice_client.get(reverse("inbox:list"), {"client": str(eve.uuid)})
    assert item_kinds(only_messages.content.decode()) == ["message", "message"]
    eve_page = only_eve.content.decode()
    assert item_kinds(eve_page) == ["message"]
    assert "From Eve" in eve_page
    assert "I had a hard week" not in eve_page


def test_opening_an_item_marks_it_read_and_goes_where_it_is_read(personas, alice_client):
    message, diary_entry, task, administration = one_of_each(personas)
    expected = {
        ("message", message.uuid): reverse("clients:messages", args=[personas.dana.uuid]),
        ("diary", diary_entry.uuid): reverse("clients:diary", args=[personas.dana.uuid]),
        ("task", task.uuid): reverse(
            "treatment:session-detail", args=[task.course.uuid, task.set_in_session.uuid]
        )
        + "#tasks",
        ("questionnaire", administration.uuid): reverse(
            "clients:detail", args=[personas.dana.uuid]
        ),
    }
    for (kind, uuid), target in expected.items():
        response = alice_client.post(reverse("inbox:open", args=[kind, uuid]))
        assert response.status_code == 302
        assert response["Location"] == target
    message.refresh_from_db()
    assert message.read_at is not None
    assert InboxRead.objects.count() == 3
    updates = AuditEvent.objects.filter(action="update", detail="inbox: marked read")
    assert updates.count() == 4
    assert inbox.inbox_counts(personas.membership(personas.alice)).total == 0


def test_opening_the_thread_from_the_home_page_takes_one_click(personas, alice_client):
    client_message(personas.dana, "Can we move Thursday?")
    home = alice_client.get(reverse("core:home")).content.decode()
    action = re.search(r'action="(/inbox/message/[0-9a-f-]+/open/)"', home)
    assert action, "the home page offers the new message"
    thread = alice_client.post(action[1], follow=True)
    assert thread.redirect_chain[-1][0] == reverse("clients:messages", args=[personas.dana.uuid])
    assert "Can we move Thursday?" in thread.content.decode()
    assert Message.objects.get().read_at is not None


def test_mark_read_and_mark_all_read_are_audited_and_come_back_to_the_list(personas, alice_client):
    message, diary_entry, _task, _administration = one_of_each(personas)
    back = reverse("inbox:list") + "?kind=diary"
    response = alice_client.post(
        reverse("inbox:mark-read", args=["diary", diary_entry.uuid]), {"next": back}
    )
    assert response["Location"] == back
    assert InboxRead.objects.filter(kind="diary", target_id=diary_entry.pk).exists()
    alice = personas.membership(personas.alice)
    assert inbox.inbox_counts(alice).total == 3

    response = alice_client.post(reverse("inbox:mark-all-read"), {"next": "https://evil.test/"})
    assert response["Location"] == reverse("inbox:list")  # never off the site
    assert inbox.inbox_counts(alice).total == 0
    message.refresh_from_db()
    assert message.read_at is not None
    event = AuditEvent.objects.filter(object_type="engagement.inbox", action="update").get()
    assert event.client_id == personas.dana.pk
    assert event.detail == "inbox: 3 items marked read"


def test_read_state_is_per_person_and_new_activity_brings_an_item_back(personas):
    cora = make_staff(personas.practice, "cora@riverside.test", "Cora Cotherapist")
    client_services.care_team_add(
        actor=personas.alice, client=personas.dana, member=personas.membership(cora)
    )
    course = make_course(personas.alice, personas.dana)
    task = client_task_report(personas.alice, course, 1)
    alice, cora_m = personas.membership(personas.alice), personas.membership(cora)
    inbox.inbox_item_mark_read(actor=personas.alice, kind="task", item_uuid=task.uuid)
    assert inbox.inbox_counts(alice).tasks == 0
    assert inbox.inbox_counts(cora_m).tasks == 1  # Cora has not read it

    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        from openipt.treatment import services as treatment
        from openipt.workspace.tests.matrix import portal_user

        task.refresh_from_db()
        treatment.task_update_by_client(
            actor=portal_user(personas.dana), client=personas.dana, task=task,
            status="not_done", note="Did not manage", version=task.version,
        )  # fmt: skip
        assert inbox.inbox_counts(alice).tasks == 1  # reported on again: new again


def test_nothing_is_shown_outside_the_care_team(personas):
    """Bob supervises Alice and may read Dana's record, but is not on her care team: his
    inbox is empty. Charlie (other practice) cannot open Alice's items; Adam has none."""
    message, diary_entry, _task, _administration = one_of_each(personas)
    for user in (personas.bob, personas.charlie):
        http = signed_in(user)
        page = http.get(reverse("inbox:list")).content.decode()
        assert "Dana" not in page
        assert item_kinds(page) == []
        for kind, uuid in (("message", message.uuid), ("diary", diary_entry.uuid)):
            assert http.post(reverse("inbox:open", args=[kind, uuid])).status_code == 404
            assert http.post(reverse("inbox:mark-read", args=[kind, uuid])).status_code == 404
        http.post(reverse("inbox:mark-all-read"))
    assert signed_in(personas.adam).get(reverse("inbox:list")).status_code == 404
    assert signed_in(personas.adam).post(reverse("inbox:mark-all-read")).status_code == 404
    message.refresh_from_db()
    assert message.read_at is None
    assert not InboxRead.objects.exists()
    assert inbox.inbox_counts(personas.membership(personas.bob)).total == 0


def test_an_unknown_kind_is_not_found(personas, alice_client):
    message = client_message(personas.dana)
    assert (
        alice_client.post(reverse("inbox:open", args=["nonsense", message.uuid])).status_code == 404
    )


def test_the_navigation_badge_and_the_client_page_count_new_items(personas, alice_client):
    one_of_each(personas)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        html = alice_client.get(reverse("clients:list")).content.decode()
        nav = html[html.index('<nav class="main-nav"') : html.index("</nav>")]
        assert re.search(r'href="/inbox/">Inbox <span class="badge badge--info">4<', nav)
        page = alice_client.get(reverse("clients:detail", args=[personas.dana.uuid]))
    detail = page.content.decode()
    assert "4 new items from this client" in detail
    assert "1 new message" in detail
    assert f"?client={personas.dana.uuid}" in detail


def test_old_items_fall_out_of_the_inbox(personas):
    with time_machine.travel(timezone.now() - inbox.WINDOW - dt.timedelta(days=1)):
        client_message(personas.dana)
    assert inbox.inbox_counts(personas.membership(personas.alice)).total == 0


def _fill(personas, clients, per_kind: int) -> None:
    """``per_kind`` items of each of the four kinds for every client."""
    for client in clients:
        course = make_course(personas.alice, client)
        for n in range(per_kind):
            client_message(client)
            client_diary(client)
            client_task_report(personas.alice, course, n + 1)
            client_questionnaire(personas.alice, client)


@pytest.mark.parametrize("page", ["inbox:list", "core:home"])
def test_query_count_does_not_grow_with_items(personas, page, django_assert_max_num_queries):
    """One item of each kind, then many: the same number of queries (a list reads a fixed
    number per kind that has items, whatever their number)."""
    http = signed_in(personas.alice)
    one_of_each(personas)
    assert inbox.inbox_counts(personas.membership(personas.alice)).total == 4
    http.get(reverse(page))
    with count_queries() as few:
        http.get(reverse(page))
    eve = make_client(personas.practice, personas.alice, given="Eve", family="Other")
    _fill(personas, [personas.dana, eve], 2)
    client_message(eve)
    client_diary(eve)
    assert inbox.inbox_counts(personas.membership(personas.alice)).total == 22
    with django_assert_max_num_queries(len(few)):
        response = http.get(reverse(page))
    if page == "inbox:list":
        assert len(item_kinds(response.content.decode())) == 22


def test_the_inbox_is_the_current_navigation_entry_on_its_page(personas, alice_client):
    html = alice_client.get(reverse("inbox:list")).content.decode()
    nav = html[html.index('<nav class="main-nav"') : html.index("</nav>")]
    assert '<a href="/inbox/" aria-current="page">Inbox' in nav
    assert nav.count("aria-current") == 1


def test_an_active_course_makes_open_course_the_primary_action(personas, alice_client):
    url = reverse("clients:detail", args=[personas.dana.uuid])
    before = alice_client.get(url).content.decode()
    start = reverse("treatment:course-create", args=[personas.dana.uuid])
    assert f'<a class="button" href="{start}">' in before  # no course yet: start one
    course = make_course(personas.alice, personas.dana)
    after = alice_client.get(url).content.decode()
    opened = reverse("treatment:course-detail", args=[course.uuid])
    assert f'<a class="button" href="{opened}">Open course' in after
    assert f'<a class="button button--secondary" href="{start}">' in after
