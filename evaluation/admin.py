from django.contrib import admin
from django.http import HttpRequest

from evaluation.models import LanguageBase
from evaluation.services import language_base_set


@admin.register(LanguageBase)
class LanguageBaseAdmin(admin.ModelAdmin):
    list_display = ["model", "base", "created_at"]
    list_select_related = ["model", "base"]
    autocomplete_fields = ["model", "base"]

    def save_model(self, request: HttpRequest, obj: LanguageBase, form: object, change: bool) -> None:
        # Through the service, which also moves the board's data version on.
        obj.pk = language_base_set(model=obj.model, base=obj.base).pk  # type: ignore[union-attr]

    def delete_model(self, request: HttpRequest, obj: LanguageBase) -> None:
        language_base_set(model=obj.model, base=None)
