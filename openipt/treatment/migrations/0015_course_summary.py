# The caseload's per-course summary row (docs/adr/0025-course-summary.md). The rows are
# built by ``manage.py rebuild_course_summaries`` after migrating; until then the caseload
# reads a course without a row from its records.

import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("treatment", "0014_session_held_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CourseSummary",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("records", models.JSONField(default=dict)),
                ("measures", models.JSONField(blank=True, null=True)),
                ("sessions_count", models.PositiveIntegerField(default=0)),
                ("latest_session_number", models.PositiveSmallIntegerField(default=0)),
                ("latest_session_at", models.DateTimeField(blank=True, null=True)),
                ("latest_risk_check", models.CharField(blank=True, max_length=12)),
                (
                    "course",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="summary",
                        to="treatment.course",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
    ]
