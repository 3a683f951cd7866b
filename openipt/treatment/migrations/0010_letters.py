import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import openipt.core.validators


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("treatment", "0009_portfolio_signoff"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LetterTemplate",
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
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("assessment", "Assessment letter to the referrer"),
                            ("end_of_treatment", "End-of-treatment letter"),
                            ("client_summary", "Progress summary for the client"),
                        ],
                        max_length=20,
                        verbose_name="letter",
                    ),
                ),
                (
                    "body",
                    models.TextField(
                        max_length=20000,
                        validators=[openipt.core.validators.TextLimit(20000)],
                        verbose_name="wording",
                    ),
                ),
                (
                    "practice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="letter_templates",
                        to="accounts.practice",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("practice", "kind"), name="treatment_lettertemplate_one_per_kind"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Letter",
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
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("assessment", "Assessment letter to the referrer"),
                            ("end_of_treatment", "End-of-treatment letter"),
                            ("client_summary", "Progress summary for the client"),
                        ],
                        max_length=20,
                        verbose_name="letter",
                    ),
                ),
                (
                    "recipient_name",
                    models.CharField(max_length=200, verbose_name="recipient's name"),
                ),
                (
                    "recipient_address",
                    models.TextField(
                        blank=True,
                        max_length=500,
                        validators=[openipt.core.validators.TextLimit(500)],
                        verbose_name="recipient's address",
                    ),
                ),
                ("body", models.TextField(verbose_name="text of the letter")),
                (
                    "course",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="letters",
                        to="treatment.course",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ("-created_at", "-id"),
            },
        ),
    ]
