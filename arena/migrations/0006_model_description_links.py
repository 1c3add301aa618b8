from django.db import migrations, models

import arena.models


class Migration(migrations.Migration):
    dependencies = [
        ("arena", "0005_battle_abandoned_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="model",
            name="description",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="model",
            name="links",
            field=models.JSONField(blank=True, default=list, validators=[arena.models.model_links_validate]),
        ),
    ]
