from django.db import migrations, models


def updated_when_created(apps, schema_editor):
    Prediction = apps.get_model("recognizer", "Prediction")
    Prediction.objects.update(updated_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("recognizer", "0003_owner_secret"),
    ]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="strokes",
            field=models.JSONField(blank=True, editable=False, null=True,
                                   help_text="The strokes as drawn (see recognizer/strokes.py); none for an image upload."),
        ),
        migrations.AddField(
            model_name="prediction",
            name="revision",
            field=models.PositiveIntegerField(default=0, help_text="How many times the drawing was changed."),
        ),
        migrations.AddField(
            model_name="prediction",
            name="updated_at",
            field=models.DateTimeField(null=True,
                                       help_text="When the drawing was last changed; the creation time until then."),
        ),
        migrations.RunPython(updated_when_created, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="prediction",
            name="updated_at",
            field=models.DateTimeField(help_text="When the drawing was last changed; the creation time until then."),
        ),
    ]
