from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("arena", "0004_answer_leases"),
    ]

    operations = [
        migrations.AddField(
            model_name="battle",
            name="abandoned_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
