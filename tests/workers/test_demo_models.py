import pytest
from django.core.management import call_command

from arena.models import Model

pytestmark = pytest.mark.django_db


def test_build_tiny_models_registers_image_video_and_audio_models_once(tiny_models_dir):
    call_command("build_tiny_models", dir=tiny_models_dir.dir)
    call_command("build_tiny_models", dir=tiny_models_dir.dir)
    models = {model.slug: model for model in Model.objects.all()}
    assert len(models) == 6
    assert {model.adapter_kind for model in models.values()} == {"transformers"}
    assert all(model.status == "active" and "text" in model.input_modalities for model in models.values())
    assert len({model.adapter_config["path"] for model in models.values()}) == 6
    assert sorted(models["tiny-llava-64"].input_modalities) == ["image", "text"]
    assert sorted(models["tiny-qwen2-vl-64"].input_modalities) == ["image", "text", "video"]
    assert sorted(models["tiny-qwen2-audio-64"].input_modalities) == ["audio", "text"]
    assert sorted(models["tiny-qwen2-5-omni-64"].input_modalities) == ["audio", "image", "text", "video"]
