"""The "act" permission on the audit log and the "moderator" group that holds it."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

GROUP = "moderator"


def moderator_group_create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations run (post_migrate); this one is needed now.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="moderation", model="auditentry")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="act",
        defaults={"name": "Can use the moderation console and act on votes, battles and voters"},
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)


def moderator_group_delete(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_moderation"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("act", "Can use the moderation console and act on votes, battles and voters")
                ],
                "verbose_name_plural": "audit entries",
            },
        ),
        migrations.RunPython(moderator_group_create, moderator_group_delete),
    ]
