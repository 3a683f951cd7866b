"""OpenIPT's production settings as the load scenario serves them (bench/run.py).

``config.settings`` unchanged, plus the query-counting middleware (bench/query_count.py)
in front of all the others unless ``OPENIPT_BENCH_COUNT_QUERIES=0``. Only bench/run.py
names this module; nothing in production does.
"""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE

QUERY_COUNT_MIDDLEWARE = "bench.query_count.QueryCountMiddleware"

if os.environ.get("OPENIPT_BENCH_COUNT_QUERIES", "1") != "0":
    MIDDLEWARE = [QUERY_COUNT_MIDDLEWARE, *MIDDLEWARE]
