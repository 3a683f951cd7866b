"""``/ready/``: may a load balancer send traffic here? (openipt/core/health.py)

200 with ``{"status": "ready"}`` when the database answers, every migration is applied and
the scheduler and worker beat recently; otherwise 503 naming each failing part. No client
data and no secrets, so no sign-in; never cached.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from openipt.core import health


@never_cache
@require_GET
def ready(request: HttpRequest) -> HttpResponse:
    state = health.readiness()
    if state.ready:
        return JsonResponse({"status": "ready"})
    return JsonResponse({"status": "not ready", "problems": list(state.problems)}, status=503)
