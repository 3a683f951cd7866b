"""Bench-only middleware: the number of SQL statements a request sent, as a response header.

Listed (outermost) by ``bench/bench_settings.py`` and ``bench/floor/settings.py`` only; the
production settings never load it. Every statement the request's thread sends on the
default connection counts, from the first middleware to the session save on the way out,
including SQLite's ``BEGIN IMMEDIATE`` and savepoints (PostgreSQL opens transactions
without a statement of its own, so the same work can count one or two fewer there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponseBase

HEADER = "X-Bench-Queries"


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        count = 0

        def counting(execute: Callable[..., Any], *args: Any) -> Any:
            nonlocal count
            count += 1
            return execute(*args)

        with connection.execute_wrapper(counting):
            response = self.get_response(request)
        response[HEADER] = str(count)
        return response
