from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_practice_research_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="practice",
            name="measure_every_fourth_session",
            field=models.BooleanField(
                default=False,
                verbose_name="ask for PHQ-9 and GAD-7 at least every fourth session",
            ),
        ),
    ]
