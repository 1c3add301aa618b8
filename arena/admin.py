from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from arena.models import Battle, MediaAsset, Model, Response, Turn, Vote
from arena.services import vote_invalidate


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["slug", "display_name", "organization", "adapter_kind", "status", "sampling_weight"]
    list_filter = ["status", "adapter_kind"]
    search_fields = ["slug", "display_name", "organization"]


class TurnInline(admin.TabularInline):
    model = Turn
    extra = 0
    fields = ("index", "prompt")
    readonly_fields = ("index", "prompt")


@admin.register(Battle)
class BattleAdmin(admin.ModelAdmin):
    list_display = ["id", "model_a", "model_b", "created_at", "abandoned_at"]
    list_select_related = ["model_a", "model_b"]
    # Abandoning goes through `battle_abandon`, which also stops the battle's answers.
    readonly_fields = [
        "id",
        "model_a",
        "model_b",
        "creator_id",
        "ip_hash",
        "retry_of",
        "created_at",
        "abandoned_at",
    ]
    inlines = [TurnInline]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["turn", "side", "status", "completion_tokens", "finished_at"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in Response._meta.fields]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["battle", "winner", "is_valid", "created_at"]
    list_filter = ["winner", "is_valid"]
    # Validity changes only through `vote_invalidate`, which the counts and boards hear of.
    readonly_fields = ["battle", "winner", "voter_id", "ip_hash", "created_at", "is_valid", "categories"]
    actions = ["votes_invalidate"]

    @admin.action(description="Invalidate the selected votes")
    def votes_invalidate(self, request: HttpRequest, queryset: QuerySet[Vote]) -> None:
        changed = sum(
            vote_invalidate(vote_id=pk, reason="admin") for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{changed} votes invalidated.")


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ["sha256", "kind", "mime_type", "width", "height", "size_bytes"]
