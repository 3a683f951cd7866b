from __future__ import annotations

import uuid

from django.db import models


class BaseModel(models.Model):
    """Every domain model has a public UUID and creation/update times; nothing else here."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
