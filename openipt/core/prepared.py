"""A query built through the ORM once per shape and then run with new values.

Some queries run on every page (the navigation's badge counts) and are built from several
querysets and filters: building and compiling them costs several milliseconds of Python per
request, many times what the database spends answering them (bench/README.md). A
``PreparedQuery`` builds such a query once per process and *shape* with stand-in values
(``Stand``: integers and times no real row has), finds where each stand-in landed among the
compiled statement's parameters, and from then on runs the same SQL with the real values in
those places. The query is still written with the ORM and the policy's filters, so no rule is
written twice; only the compiling is saved.

The shape is what can change the SQL itself rather than its values: the caller passes it as
a key (for a membership, its role flags), and a different key builds anew. Each stand-in must
appear among the parameters exactly as the database backend adapts it; a stand-in that does
not appear raises ``PreparedQueryError`` at build time (unless the caller marks it
optional), so a change to the query that breaks
the substitution fails loudly in tests, never silently.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

# Stand-ins: integers no row of ours reaches yet within every integer field's range (Django
# drops a lookup whose value lies outside its field's range, so a stand-in must fit a
# positive 32-bit field), and a moment in 1901.
_FIRST_INT = 2_000_000_001
_BASE_TIME = dt.datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=dt.UTC)


class PreparedQueryError(RuntimeError):
    """The query could not be prepared: a stand-in was lost or doubled in compiling."""


class Stand:
    """The stand-ins a build function receives: ``stand.int("name")`` and
    ``stand.time("name")`` return a value that marks where the real one goes."""

    def __init__(self) -> None:
        self.ints: dict[str, int] = {}
        self.times: dict[str, dt.datetime] = {}

    def int(self, name: str) -> int:
        if name not in self.ints:
            self.ints[name] = _FIRST_INT + len(self.ints)
        return self.ints[name]

    def time(self, name: str) -> dt.datetime:
        if name not in self.times:
            self.times[name] = _BASE_TIME + dt.timedelta(seconds=len(self.times))
        return self.times[name]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, str], ...]  # (position, "int" | "time", name)


class PreparedQuery:
    """``PreparedQuery(build)``: ``build(stand, key)`` returns the queryset of that shape,
    ``run(key, values)`` returns its first row as a tuple (``None`` without one)."""

    def __init__(
        self,
        build: Callable[[Stand, Any], QuerySet[Any]],
        *,
        optional: frozenset[str] = frozenset(),
        using: str = "default",
    ) -> None:
        self._build = build
        self._optional = optional  # stand-ins a shape may leave unused (ids of a stand-in row)
        self._using = using
        self._compiled: dict[tuple[str, Hashable], _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, key: Hashable) -> _Compiled:
        connection = connections[self._using]
        cache_key = (connection.vendor, key)
        found = self._compiled.get(cache_key)
        if found is not None:
            return found
        stand = Stand()
        queryset = self._build(stand, key)
        try:
            sql, params = queryset.query.get_compiler(using=self._using).as_sql()
        except EmptyResultSet:  # this shape can match nothing (the policy said "none")
            return self._keep(cache_key, _Compiled("", (), ()))
        marks: dict[Any, tuple[str, str]] = {value: ("int", n) for n, value in stand.ints.items()}
        for name, moment in stand.times.items():
            marks[connection.ops.adapt_datetimefield_value(moment)] = ("time", name)
        slots = []
        seen = set()
        for position, param in enumerate(params):
            mark = marks.get(param) if isinstance(param, (int, str, dt.datetime)) else None
            if mark is not None and not isinstance(param, bool):
                slots.append((position, *mark))
                seen.add(mark[1])
        missing = set(stand.ints) | set(stand.times)
        missing -= seen | self._optional
        if missing:
            raise PreparedQueryError(f"stand-ins not found in the compiled query: {missing}")
        return self._keep(cache_key, _Compiled(sql, tuple(params), tuple(slots)))

    def _keep(self, cache_key: tuple[str, Hashable], compiled: _Compiled) -> _Compiled:
        with self._lock:
            self._compiled[cache_key] = compiled
        return compiled

    def run(self, key: Hashable, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for these values; ``values`` names every stand-in the build used."""
        found = self.rows(key, values)
        return found[0] if found else None

    def rows(self, key: Hashable, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row for these values (keep the query's own LIMIT small)."""
        compiled = self._compile(key)
        if not compiled.sql:
            return []
        connection = connections[self._using]
        params = list(compiled.params)
        for position, kind, name in compiled.slots:
            value = values[name]
            params[position] = (
                connection.ops.adapt_datetimefield_value(value) if kind == "time" else value
            )
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            return [tuple(row) for row in cursor.fetchall()]
