from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0008_plausible_dates_and_text_limits"),
    ]

    operations = [
        migrations.AlterField(
            model_name="consentrecord",
            name="kind",
            field=models.CharField(
                choices=[
                    ("treatment", "Consent to treatment"),
                    ("portal", "Consent to use the client portal"),
                    ("contact", "Consent to be contacted"),
                    ("share_referrer", "Consent to send letters to the referrer or GP"),
                    ("share_summary", "Consent to be given a written progress summary"),
                    ("recording", "Consent to audio recording of sessions"),
                ],
                default="treatment",
                max_length=20,
            ),
        ),
    ]
