"""A prepared query (openipt/core/prepared.py) runs the SQL the ORM built once, with the
real values where the stand-ins were; a stand-in lost in compiling fails loudly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session as WebSession
from django.db.models import Count
from django.utils import timezone

from openipt.core.prepared import PreparedQuery, PreparedQueryError, Stand

pytestmark = pytest.mark.django_db


def _session(key: str, expires: dt.datetime) -> None:
    WebSession.objects.create(session_key=key, session_data="x", expire_date=expires)


def test_the_real_values_replace_the_stand_ins_and_the_build_runs_once():
    now = timezone.now().replace(microsecond=0)
    _session("a" * 32, now + dt.timedelta(hours=1))
    _session("b" * 32, now + dt.timedelta(hours=1))
    _session("c" * 32, now - dt.timedelta(hours=1))
    builds = []

    def build(stand: Stand, key: str):
        builds.append(key)
        return (
            WebSession.objects.filter(expire_date__gte=stand.time("after"))
            .exclude(expire_date__lt=stand.time("before"))
            .values("expire_date")
            .annotate(n=Count("pk"))
            .order_by()
        )

    query = PreparedQuery(build)
    row = query.run("shape", {"after": now, "before": now})
    assert row is not None
    assert row[1] == 2
    assert query.run("shape", {"after": now - dt.timedelta(days=1), "before": now})[1] == 2
    assert query.run("shape", {"after": now + dt.timedelta(days=1), "before": now}) is None
    assert builds == ["shape"]
    query.run("other shape", {"after": now, "before": now})
    assert builds == ["shape", "other shape"]


def test_an_integer_stand_in_is_replaced():
    query = PreparedQuery(
        lambda stand, key: (
            WebSession.objects.filter(session_key__startswith="k")
            .values("session_key")
            .annotate(n=Count("pk"))
            .filter(n__gte=stand.int("at_least"))
            .order_by()
        )
    )
    _session("k" * 32, timezone.now() + dt.timedelta(hours=1))
    assert query.run("shape", {"at_least": 1}) == ("k" * 32, 1)
    assert query.run("shape", {"at_least": 2}) is None


def test_a_stand_in_that_does_not_reach_the_sql_is_refused():
    def build(stand: Stand, key: str):
        stand.int("unused")
        return WebSession.objects.filter(expire_date__gte=stand.time("after"))

    with pytest.raises(PreparedQueryError, match="unused"):
        PreparedQuery(build).run("shape", {"after": timezone.now(), "unused": 1})
