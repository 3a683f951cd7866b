from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0005_instrument_published_identity"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="administration",
            index=models.Index(
                condition=models.Q(("mode", "client_completed"), ("status", "completed")),
                fields=["client", "completed_at"],
                name="measures_adm_client_done_idx",
            ),
        ),
    ]
