import pytest
from django.core.management import call_command

from arena.models import Model

pytestmark = pytest.mark.django_db


def test_build_tiny_models_registers_four_active_vision_models_once(tiny_models_dir):
    call_command("build_tiny_models", dir=tiny_models_dir.dir)
    call_command("build_tiny_models", dir=tiny_models_dir.dir)
    models = list(Model.objects.all())
    assert len(models) == 4
    assert {model.adapter_kind for model in models} == {"transformers"}
    assert all(model.status == "active" and "image" in model.input_modalities for model in models)
    assert len({model.adapter_config["path"] for model in models}) == 4
