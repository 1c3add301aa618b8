"""The General-Level pages: the board, its fragment, a model's worked example, and the tabs."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leaderboard.boards.general_level.selectors import general_level_board, general_level_version
from leaderboard.boards.general_level.services import general_level_import
from tests.factories import model_make

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "tasks": [
        {"name": "VQA", "modality": "image", "group": "comprehension", "metric": "ACC", "sota": 50},
        {"name": "T2I", "modality": "image", "group": "generation", "metric": "ACC", "sota": 30},
        {"name": "ASR", "modality": "audio", "group": "comprehension", "metric": "WER", "sota": 8},
        {"name": "QA", "modality": "nlp", "group": None, "metric": "ACC", "sota": 60},
    ],
    "models": {"Alpha": {"scores": [60, 35, 5.6, 70]}, "Beta <b>": {"scores": [40, None, None, None]}},
}


@pytest.fixture
def seeded() -> None:
    general_level_import(data=json.dumps(DOCUMENT).encode(), filename="seed.json")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_board_page_shows_level_and_modality_boards_with_badges(seeded):
    response = Client().get("/leaderboard/general-level/")
    assert response.status_code == 200
    html = response.content.decode()
    for board in (
        "board-overall",
        "board-level-2",
        "board-level-5",
        "board-modality-image",
        "board-modality-3d",
    ):
        assert f'id="{board}"' in html
    assert (
        'data-board="general-level"' in html
        and 'data-fragment-url="/leaderboard/general-level/fragment/"' in html
    )
    assert f'data-version="{general_level_version()}"' in html
    assert '<span class="gl-badge" data-level="5"' in html
    assert 'href="/leaderboard/general-level/alpha/"' in html
    assert "Beta &lt;b&gt;" in html and "Beta <b>" not in html
    assert "No 3d tasks yet" in html
    assert 'aria-current="page">General-Level</a>' in html


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_level_boards_hold_only_models_above_zero(seeded):
    html = Client().get("/leaderboard/general-level/").content.decode()
    level5, level2 = _section(html, "board-level-5"), _section(html, "board-level-2")
    assert 'data-model="alpha"' in level5 and 'data-model="beta-b"' not in level5
    assert 'data-model="alpha"' in level2 and 'data-model="beta-b"' in level2


IMPORT_HELP = "import_general_level"


def _staff_client(*, staff: bool = True) -> Client:
    user = get_user_model().objects.create_user(
        username="curator" if staff else "reader", password="unused", is_staff=staff
    )
    client = Client()
    client.force_login(user)
    return client


def test_the_empty_board_tells_visitors_in_public_words_without_the_import_instructions():
    html = Client().get("/leaderboard/general-level/").content.decode()
    assert "No General-Level results yet" in html
    assert "once their General-Bench results have been published" in html
    assert IMPORT_HELP not in html and "/api/v1/general-level/import" not in html and "Staff" not in html


def test_staff_see_how_to_import_and_no_cached_page_mixes_them_with_visitors():
    staff, reader = _staff_client(), _staff_client(staff=False)
    # Either order: an anonymous page cached first, or a staff page rendered first.
    for first, then in ((Client(), staff), (staff, Client())):
        first.get("/leaderboard/general-level/")
        first.get("/leaderboard/general-level/")
        then.get("/leaderboard/general-level/")
    anonymous = Client().get("/leaderboard/general-level/").content.decode()
    assert IMPORT_HELP not in anonymous
    staff_page = staff.get("/leaderboard/general-level/").content.decode()
    assert IMPORT_HELP in staff_page and "/api/v1/general-level/import" in staff_page
    assert "once their General-Bench results have been published" in staff_page
    assert IMPORT_HELP not in reader.get("/leaderboard/general-level/").content.decode(), "staff only"
    # The fragment is shared by everyone, so it never carries them.
    for client in (staff, Client()):
        assert IMPORT_HELP not in client.get("/leaderboard/general-level/fragment/").content.decode()


def test_fragment_is_the_board_alone_and_304_while_unchanged(seeded):
    client = Client()
    response = client.get("/leaderboard/general-level/fragment/")
    assert response.status_code == 200
    assert response["X-Board-Version"] == general_level_version()
    html = response.content.decode()
    assert 'id="board-level-4"' in html and "<html" not in html
    again = client.get(
        "/leaderboard/general-level/fragment/", headers={"If-None-Match": f'"{general_level_version()}"'}
    )
    assert again.status_code == 304


def test_model_page_works_the_formulas_with_that_models_numbers(seeded):
    html = Client().get("/leaderboard/general-level/alpha/").content.decode()
    text = _text(html)
    report = next(e for e in general_level_board().entries if e.key == "alpha").report
    assert "Alpha" in text and "Placed at Level 5" in text
    # ASR: WER 5.6 normalised as 100·(1 - 5.6/100); the SoTA 8 likewise.
    assert "100·(1 - 5.6/100) = 94.40" in text and "100·(1 - 8/100) = 92.00" in text
    # Image: S_C = 60 and S_G = 35 beat their SoTA, so Level-4 is their harmonic mean.
    assert "2·60.00·35.00/(60.00 + 35.00) = 44.21" in text
    assert f"{report.level4:.2f}·70.00/100 = {report.level5:.2f}" in text
    assert "beats the SoTA on VQA, T2I" in text
    assert "No video, 3d tasks on the board yet" in text
    assert "Level-5 is the highest level with a non-zero score" in text


def test_model_page_explains_a_low_level_too(seeded):
    text = _text(Client().get("/leaderboard/general-level/beta-b/").content.decode())
    assert "Placed at Level 2" in text
    assert "no task beats its SoTA" in text
    assert "Unsupported" in text


def test_arena_model_page_is_under_its_slug(seeded):
    model_make(slug="gamma-7b", display_name="Gamma 7B")
    general_level_import(
        data=json.dumps({**DOCUMENT, "models": {"Gamma 7B": {"scores": [1, 1, 50, 1]}}}).encode(),
        filename="g.json",
    )
    text = _text(Client().get("/leaderboard/general-level/gamma-7b/").content.decode())
    assert "In the arena as gamma-7b" in text


def test_unknown_model_page_is_404(seeded):
    assert Client().get("/leaderboard/general-level/nobody/").status_code == 404


def test_arena_board_links_to_the_general_level_tab():
    html = Client().get("/leaderboard/").content.decode()
    assert 'aria-label="Leaderboards"' in html
    assert 'href="/leaderboard/general-level/"' in html


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_the_edge_cache_never_answers_staff_with_the_visitors_page_nor_the_reverse(live_stack):
    session = _staff_client().cookies["sessionid"].value
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as anonymous:
        anonymous.get("/leaderboard/general-level/")
        shared = anonymous.get("/leaderboard/general-level/")
        assert shared.headers.get("x-cache") == "hit" and IMPORT_HELP not in shared.text
        with httpx.Client(base_url=live_stack.base_url, timeout=30, cookies={"sessionid": session}) as staff:
            for _ in range(2):
                assert IMPORT_HELP in staff.get("/leaderboard/general-level/").text
        assert IMPORT_HELP not in anonymous.get("/leaderboard/general-level/").text
