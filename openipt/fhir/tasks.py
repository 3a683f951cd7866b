"""Background tasks of FHIR bulk export (django-tasks; docs/fhir-bulk.md).

``export_job_run`` writes one export's files; it is enqueued by ``export_start`` once the
kick-off's transaction has committed, so the worker always finds the job row.
``delete_expired_exports`` is periodic (``settings.OPENIPT_PERIODIC_TASKS``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_tasks import task

from openipt.fhir import bulk
from openipt.fhir.models import ExportJob

logger = logging.getLogger(__name__)


@task()
def export_job_run(job_uuid: str) -> str:
    """Write the files of one export (openipt/fhir/bulk.py); safe to run again."""
    return bulk.export_job_run(job_uuid)


@task()
def delete_expired_exports() -> int:
    """Delete the files of exports past ``OPENIPT_EXPORT_RETENTION_HOURS`` and mark them
    expired; safe to enqueue as often as you like."""
    return bulk.delete_expired()


def _enqueue(job_uuid: str) -> None:
    try:
        export_job_run.enqueue(job_uuid)
    except Exception:
        logger.exception("Could not enqueue FHIR bulk export %s", job_uuid)
        ExportJob.objects.filter(uuid=job_uuid, status=ExportJob.Status.QUEUED).update(
            status=ExportJob.Status.FAILED,
            error=_("The export could not be queued; start a new one."),
        )


def export_start(**kwargs: Any) -> ExportJob:
    """Record the kick-off (``bulk.export_job_create``, same keyword arguments) and enqueue
    its task after the commit. Nothing is exported in the caller's request."""
    with transaction.atomic():
        job = bulk.export_job_create(**kwargs)
        job_uuid = str(job.uuid)
        transaction.on_commit(lambda: _enqueue(job_uuid))
    return job
