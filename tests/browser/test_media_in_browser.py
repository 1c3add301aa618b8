"""Video and sound battles in Chromium: a video uploaded with the frame count changed, then a voice
recorded from Chromium's fake microphone (a real MediaRecorder WebM); both streamed, voted, revealed."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arena.models import Battle, MediaAsset, Model, TurnAttachment
from tests.arena.av_media import video_bytes
from tests.browser.axe import axe_violations
from tests.browser.conftest import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _speech_wav(path: Path) -> None:
    """A spoken sentence (espeak-ng, as .ci/run installs it), or a tone where espeak-ng is missing."""
    espeak = shutil.which("espeak-ng")
    if espeak:
        subprocess.run([espeak, "-w", str(path), "What is the weather like today?"], check=True)
        return
    rate = 16_000
    t = np.arange(rate * 3) / rate
    samples = (0.4 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


@pytest.fixture
def media_page(live_stack: object, tmp_path: Path) -> Iterator[object]:
    """A Chromium page whose microphone and camera are Chromium's fake devices, the microphone saying
    the speech file, with the permissions granted (no prompt in a headless browser)."""
    speech = tmp_path / "speech.wav"
    _speech_wav(speech)
    args = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech}",
    ]
    with chromium_page(args=args, permissions=["microphone", "camera"]) as page:
        yield page


def _vote_and_reveal(page: Any, names: set[str]) -> set[str]:
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=120_000)
    for side in ("a", "b"):
        pane = page.locator(f"#pane-{side}")
        expect(pane).to_have_attribute("data-status", "done")
        assert pane.locator(".answer").inner_text().strip()
        assert pane.locator(".model-name").inner_text().strip() == ""
    page.click("#vote-tie")
    expect(page.locator("body")).to_have_attribute("data-battle-state", "voted", timeout=30_000)
    revealed = {page.locator(f"#pane-{side} .model-name").inner_text().strip() for side in ("a", "b")}
    assert len(revealed) == 2 and all(any(n in shown for n in names) for shown in revealed), revealed
    return revealed


def test_a_video_with_chosen_frames_then_a_recorded_voice(
    media_page, live_stack, arena_models, tmp_path: Path
):
    from playwright.sync_api import expect

    page = media_page
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(video_bytes("mp4", seconds=2.0))
    names = {model.display_name: model for model in Model.objects.all()}

    page.goto(live_stack.base_url + "/")
    expect(page.locator("#recorder")).to_be_visible()
    page.set_input_files("#image-input", str(clip))
    expect(page.locator("#media-preview")).to_be_visible()
    expect(page.locator("#frames-control")).to_be_visible()
    expect(page.locator("#frame-count")).to_have_value("8")
    assert axe_violations(page) == [], "the composer with a video and its frame control"
    if os.environ.get("ARENA_SCREENSHOTS"):
        page.screenshot(path=os.environ["ARENA_SCREENSHOTS"] + "/composer-video.png", full_page=True)
    # A count outside 1-32 is refused in the page, before anything is sent.
    page.fill("#frame-count", "40")
    page.fill("#prompt", "What changes in this clip?")
    page.click("#send")
    expect(page.locator("#form-error")).to_have_text(
        "Please choose between 1 and 32 frames for the models to see."
    )
    expect(page.locator("body")).to_have_attribute("data-battle-state", "idle")
    page.fill("#frame-count", "5")
    page.click("#send")

    revealed = _vote_and_reveal(page, set(names))
    # The strip shows the five frames both models saw, and stays with the reveal.
    strip = page.locator("#frame-strip .frame-strip__frame")
    expect(strip).to_have_count(5)
    assert axe_violations(page) == [], "the revealed battle with its video and frame strip"
    if os.environ.get("ARENA_SCREENSHOTS"):
        page.screenshot(path=os.environ["ARENA_SCREENSHOTS"] + "/battle-video.png", full_page=True)
    assert all("video" in names[next(n for n in names if n in shown)].input_modalities for shown in revealed)
    battle = Battle.objects.order_by("-created_at").first()
    (link,) = TurnAttachment.objects.filter(turn__battle=battle)
    assert link.asset.kind == MediaAsset.Kind.VIDEO and link.frames == 5
    # The permalink shows the same video and strip to anyone, now that it is voted.
    permalink = page.url
    page.goto(permalink)
    expect(page.locator("#frame-strip .frame-strip__frame")).to_have_count(5)
    expect(page.locator("#battle-video")).to_be_visible()
    assert (page.locator("#battle-video video").get_attribute("src") or "").startswith("/api/v1/attachments/")

    page.click("#new-round")
    expect(page.locator("#battle-media")).to_be_hidden()
    # A sound dropped on the page is taken as a sound; removed again, the microphone records one instead.
    speech = base64.b64encode((tmp_path / "speech.wav").read_bytes()).decode()
    dropped = page.evaluate_handle(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "speech.wav", { type: "audio/wav" }));
            return transfer;
        }""",
        speech,
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})
    expect(page.locator("#media-preview-audio")).to_be_visible()
    expect(page.locator("#media-preview .media-preview__name")).to_contain_text("speech.wav")
    page.click("#remove-media")
    expect(page.locator("#media-preview")).to_be_hidden()
    page.click("#record-audio")
    expect(page.locator("#record-stop")).to_be_visible()
    page.wait_for_timeout(2_500)
    page.click("#record-stop")
    expect(page.locator("#media-preview-audio")).to_be_visible()
    expect(page.locator("#frames-control")).to_be_hidden()
    page.fill("#prompt", "What did I say?")
    page.click("#send")

    revealed = _vote_and_reveal(page, set(names))
    expect(page.locator("#battle-audio")).to_be_visible()
    assert page.locator("#waveform .waveform__bars rect").count() > 0
    assert axe_violations(page) == [], "the revealed battle with its sound and waveform"
    assert all("audio" in names[next(n for n in names if n in shown)].input_modalities for shown in revealed)
    battle = Battle.objects.order_by("-created_at").first()
    (link,) = TurnAttachment.objects.filter(turn__battle=battle)
    assert link.asset.kind == MediaAsset.Kind.AUDIO and link.asset.mime_type == "audio/webm"
    assert 1.0 < (link.asset.duration_s or 0) < 5.0, link.asset.duration_s
    if os.environ.get("ARENA_SCREENSHOTS"):
        page.screenshot(path=os.environ["ARENA_SCREENSHOTS"] + "/battle-audio.png", full_page=True)
