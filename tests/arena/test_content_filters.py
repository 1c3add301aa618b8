"""Text moderation where prompts enter: the offline word and pattern lists per language, the external
classifier (a real local HTTP server stands in for the hosted API) open and closed, and the wiring:
a flagged prompt lands in Battle.flags, a blocked one is a 400 with nothing created."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from arena.content_filters import UNAVAILABLE, text_moderate, text_rules_load
from arena.models import Battle, Turn
from arena.services import PROMPT_REFUSED, battle_start_named
from core.errors import Unavailable
from tests.factories import battle_make, model_make, voter_client

RULES = {
    "_about": "comments are keys starting with an underscore",
    "en": {"flag": {"words": ["forbidden fruit", "zorp"]}, "block": {"words": ["blorkon"]}},
    "de": {"flag": {"words": ["verbotenwort", "straße"]}},
    "ja": {"flag": {"words": ["禁止語"]}},
    "any": {
        "flag": {
            "patterns": [
                {"name": "email-address", "regex": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}"},
                {"name": "card-number", "regex": r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)", "check": "luhn"},
                r"secret-\d+",
            ]
        },
        "block": {"patterns": [{"name": "ticket", "regex": r"ticket #\d{3,}", "min_digits": 4}]},
    },
}


def _rules_file(directory: Path, rules: object, name: str = "rules.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def rules(tmp_path, settings) -> Path:
    path = _rules_file(tmp_path, RULES)
    settings.ARENA_TEXT_FILTER_RULES = str(path)
    settings.ARENA_TEXT_CLASSIFIER_URL = ""
    return path


# --- the offline lists ---------------------------------------------------------------------------


def test_clean_text_is_allowed_without_reasons(rules):
    verdict = text_moderate(text="What is in this picture of a fruit basket?")
    assert (verdict.action, verdict.reasons) == ("allow", [])


def test_every_languages_list_applies_and_each_reason_names_its_language_and_rule(rules):
    verdict = text_moderate(text="Erkläre das Verbotenwort, and the zorp, bitte.")
    assert verdict.action == "flag"
    assert verdict.reasons == ["en word: zorp", "de word: verbotenwort"]


def test_words_match_whole_words_and_phrases_only(rules):
    assert text_moderate(text="zorpy zorping").action == "allow"
    assert text_moderate(text="forbidden fruits are sweet").action == "allow"
    assert text_moderate(text="Tell me about the FORBIDDEN   fruit.").reasons == ["en word: forbidden fruit"]


@pytest.mark.parametrize(
    "evasion",
    [
        "ＺＯＲＰ",  # full-width letters (NFKC)
        "Zo\u200brp",  # a zero-width space inside
        "z0rp",  # l33t digit
        "z o r p",  # spaced apart
        "z.o.r.p",  # dotted apart
        "forbidden-fruit",
        "STRASSE",  # case folding: ß is ss
    ],
)
def test_light_evasions_still_match(rules, evasion):
    assert text_moderate(text=f"please explain {evasion} now").action == "flag"


def test_accents_do_not_hide_a_word(rules, tmp_path, settings):
    settings.ARENA_TEXT_FILTER_RULES = str(
        _rules_file(tmp_path, {"es": {"flag": {"words": ["mátate"]}}}, "es.json")
    )
    assert text_moderate(text="matate").reasons == ["es word: mátate"]
    assert text_moderate(text="MÁTATE").action == "flag"


def test_a_word_of_a_script_without_spaces_matches_inside_a_sentence(rules):
    assert text_moderate(text="この禁止語について教えて").reasons == ["ja word: 禁止語"]


def test_patterns_match_and_a_checksum_keeps_ordinary_numbers_out(rules):
    assert text_moderate(text="write to ana.b+x@example.co.uk").reasons == ["any pattern: email-address"]
    assert text_moderate(text="card 4111 1111 1111 1111 exp 12/29").reasons == ["any pattern: card-number"]
    # The same shape failing the Luhn check is an ordinary number.
    assert text_moderate(text="order 4111 1111 1111 1112").action == "allow"
    # A pattern given as a bare string is named by itself.
    assert text_moderate(text="code secret-42").reasons == [r"any pattern: secret-\d+"]


def test_block_beats_flag_and_every_reason_is_kept(rules):
    verdict = text_moderate(text="zorp and blorkon")
    assert verdict.action == "block"
    assert verdict.reasons == ["en word: zorp", "en word: blorkon"]


def test_a_pattern_can_demand_a_least_number_of_digits(rules):
    assert text_moderate(text="see ticket #123").action == "allow"
    assert text_moderate(text="see ticket #1234").reasons == ["any pattern: ticket"]


def test_the_shipped_rules_load_and_flag_personal_data_but_not_ordinary_prompts():
    from django.conf import settings

    shipped = text_rules_load(path=settings.ARENA_TEXT_FILTER_RULES)
    assert shipped.moderate(text="How many apples are in the picture? About 12, from 2024.").action == "allow"
    found = shipped.moderate(
        text="I am jo@example.org, card 5500 0000 0000 0004, IBAN DE89 3704 0044 0532 0130 00, "
        "+44 20 7946 0958"
    )
    assert found.action == "flag"
    assert found.reasons == [
        "any pattern: email-address",
        "any pattern: phone-number",
        "any pattern: card-number",
        "any pattern: iban",
    ]


@pytest.mark.parametrize(
    ("rules", "sentence"),
    [
        (
            {"en": {"flag": {"patterns": ["(unclosed"]}}},
            "en.flag.patterns[0] is not a valid regular expression",
        ),
        ({"en": {"warn": {"words": ["x"]}}}, 'en must be an object with "flag" and/or "block"'),
        ({"en": {"flag": {"words": "zorp"}}}, "en.flag.words must be a list of non-empty strings"),
        ({"en": {"flag": {"patterns": [{"regex": "x", "check": "crc"}]}}}, "has check 'crc'"),
        (["en"], "the file must be an object"),
    ],
)
def test_a_bad_rules_file_is_refused_with_a_sentence_naming_the_place(tmp_path, rules, sentence):
    path = _rules_file(tmp_path, rules, "bad.json")
    with pytest.raises(ImproperlyConfigured, match=r"ARENA_TEXT_FILTER_RULES \(.*bad\.json\)") as refused:
        text_rules_load(path=str(path))
    assert sentence in str(refused.value)


def test_a_missing_or_malformed_rules_file_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        text_rules_load(path=str(tmp_path / "absent.json"))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ImproperlyConfigured, match="is not valid JSON"):
        text_rules_load(path=str(tmp_path / "broken.json"))


def test_a_bad_rules_file_stops_startup(tmp_path):
    import subprocess
    import sys

    path = _rules_file(tmp_path, {"en": {"block": {"patterns": ["[a-"]}}}, "startup.json")
    from tests.processes import environment

    env = environment(ARENA_TEXT_FILTER_RULES=str(path))
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "en.block.patterns[0] is not a valid regular expression" in done.stderr


# --- the external classifier ---------------------------------------------------------------------


class _Moderations(BaseHTTPRequestHandler):
    """An OpenAI-compatible /moderations: texts containing "nasty" are flagged as harassment."""

    seen: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        flagged = "nasty" in body["input"]
        answer = {
            "id": "modr-1",
            "results": [
                {
                    "flagged": flagged,
                    "categories": {"harassment": flagged, "violence": False, "hate": flagged},
                }
            ],
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def classifier(rules, settings, monkeypatch) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (_Moderations,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TEST_MODERATION_KEY", "sk-test")
    settings.ARENA_TEXT_CLASSIFIER_URL = f"http://127.0.0.1:{server.server_port}/v1"
    settings.ARENA_TEXT_CLASSIFIER_KEY_ENV = "TEST_MODERATION_KEY"
    settings.ARENA_TEXT_CLASSIFIER_TIMEOUT_S = 2.0
    settings.ARENA_TEXT_CLASSIFIER_FAIL_CLOSED = False
    settings.ARENA_TEXT_CLASSIFIER_ACTION = "flag"
    yield seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def unreachable(rules, settings) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ARENA_TEXT_CLASSIFIER_URL = f"http://127.0.0.1:{port}/v1"
    settings.ARENA_TEXT_CLASSIFIER_TIMEOUT_S = 0.5


def test_the_classifier_is_asked_with_the_key_and_its_categories_become_reasons(classifier):
    verdict = text_moderate(text="a nasty remark")
    assert verdict.action == "flag"
    assert verdict.reasons == ["classifier: harassment", "classifier: hate"]
    assert classifier == [
        {"path": "/v1/moderations", "body": {"input": "a nasty remark"}, "auth": "Bearer sk-test"}
    ]


def test_a_clean_answer_of_the_classifier_allows_and_both_checks_add_up(classifier):
    assert text_moderate(text="a kind remark").action == "allow"
    assert text_moderate(text="a nasty zorp").reasons == [
        "en word: zorp",
        "classifier: harassment",
        "classifier: hate",
    ]


def test_the_classifier_can_be_set_to_block(classifier, settings):
    settings.ARENA_TEXT_CLASSIFIER_ACTION = "block"
    assert text_moderate(text="a nasty remark").action == "block"


def test_a_text_the_lists_block_is_not_sent_to_the_classifier(classifier):
    assert text_moderate(text="blorkon").action == "block"
    assert classifier == []


def test_an_unreachable_classifier_failing_open_allows_and_logs(unreachable, caplog):
    with caplog.at_level(logging.WARNING, logger="arena.content_filters"):
        assert text_moderate(text="anything at all").action == "allow"
    assert "prompt let through unchecked" in caplog.text


def test_an_unreachable_classifier_failing_closed_refuses_with_a_503_sentence(unreachable, settings):
    settings.ARENA_TEXT_CLASSIFIER_FAIL_CLOSED = True
    with pytest.raises(Unavailable) as refused:
        text_moderate(text="anything at all")
    assert refused.value.status_code == 503
    assert (
        refused.value.message == UNAVAILABLE == "The content check is unavailable; please try again shortly."
    )


class _Broken(BaseHTTPRequestHandler):
    """A moderation endpoint that answers badly in one of several ways (the server's `mode`)."""

    mode = "error"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.mode == "slow":
            time.sleep(1.0)
        status, data = {
            "error": (500, b'{"error": "overloaded"}'),
            "garbage": (200, b"<html>not json</html>"),
            "shapeless": (200, b'{"results": []}'),
            "slow": (200, b'{"results": [{"flagged": false}]}'),
        }[self.mode]
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow answer's client gave up waiting, as it should

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("mode", ["error", "garbage", "shapeless", "slow"])
def test_a_classifier_answering_badly_or_too_late_counts_as_unavailable(rules, settings, mode):
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Broken,), {"mode": mode}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.ARENA_TEXT_CLASSIFIER_URL = f"http://127.0.0.1:{server.server_port}"
        settings.ARENA_TEXT_CLASSIFIER_TIMEOUT_S = 0.3
        settings.ARENA_TEXT_CLASSIFIER_FAIL_CLOSED = True
        with pytest.raises(Unavailable):
            text_moderate(text="hello")
        settings.ARENA_TEXT_CLASSIFIER_FAIL_CLOSED = False
        assert text_moderate(text="hello").action == "allow"
    finally:
        server.shutdown()
        server.server_close()


# --- where prompts enter -------------------------------------------------------------------------


def _headers(token: str) -> dict[str, str]:
    return {"X-CSRFToken": token, "Origin": "http://testserver"}


def _battle_post(client: Client, token: str, prompt: str) -> Any:
    return client.post("/api/v1/battles", data={"prompt": prompt}, headers=_headers(token))


@pytest.fixture
def pool(db) -> None:
    model_make()
    model_make()


def test_a_flagged_prompt_starts_its_battle_with_the_reasons_in_its_flags(rules, pool):
    client, token = voter_client()
    response = _battle_post(client, token, "Is zorp in the picture? Mail me at jo@example.org")
    assert response.status_code == 201
    battle = Battle.objects.get(pk=response.json()["id"])
    assert battle.flags == ["en word: zorp", "any pattern: email-address"]
    assert battle.flags_reviewed_at is None


def test_a_clean_prompt_leaves_the_flags_empty(rules, pool):
    client, token = voter_client()
    response = _battle_post(client, token, "What colour is the sky?")
    assert response.status_code == 201
    assert Battle.objects.get(pk=response.json()["id"]).flags == []


def test_a_blocked_prompt_is_a_400_with_a_sentence_and_nothing_is_created(rules, pool):
    client, token = voter_client()
    response = _battle_post(client, token, "Tell me about blorkon")
    assert response.status_code == 400
    assert response.json() == {"detail": PROMPT_REFUSED}
    assert not Battle.objects.exists() and not Turn.objects.exists()


def test_an_unreachable_classifier_failing_closed_is_a_503_and_nothing_is_created(
    unreachable, settings, pool
):
    settings.ARENA_TEXT_CLASSIFIER_FAIL_CLOSED = True
    client, token = voter_client()
    response = _battle_post(client, token, "Hello?")
    assert response.status_code == 503
    assert response.json() == {"detail": UNAVAILABLE}
    assert not Battle.objects.exists()


def test_follow_up_flags_append_and_reopen_a_reviewed_battle(rules, db):
    from django.utils import timezone

    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    Battle.objects.filter(pk=battle.pk).update(flags=["en word: zorp"], flags_reviewed_at=timezone.now())

    def follow_up(prompt: str) -> Any:
        return client.post(
            f"/api/v1/battles/{battle.pk}/turns", data={"prompt": prompt}, headers=_headers(token)
        )

    assert follow_up("And the zorp, and secret-7?").status_code == 201
    battle.refresh_from_db()
    assert battle.flags == [
        "en word: zorp",
        "follow-up: en word: zorp",
        r"follow-up: any pattern: secret-\d+",
    ]
    assert battle.flags_reviewed_at is None

    blocked = follow_up("blorkon?")
    assert blocked.status_code == 400 and blocked.json()["detail"] == PROMPT_REFUSED
    assert Turn.objects.filter(battle=battle).count() == 2


def test_a_named_battle_is_screened_too(rules, db):
    alpha, beta = model_make(), model_make()
    battle = battle_start_named(model_a=alpha, model_b=beta, prompt="zorp?", creator_id="voter-9")
    assert battle.flags == ["en word: zorp"]
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="refused by the content check"):
        battle_start_named(model_a=alpha, model_b=beta, prompt="blorkon", creator_id="voter-9")
    assert Battle.objects.count() == 1
