"""The ratings API's read parameters that the board reads itself (`category`, `since`, `include`): the
OpenAPI schema says what each takes, from the same list or pattern the parser reads, and the parser takes
exactly the values the schema admits (as a JSON-Schema validator reads the pattern) and refuses every other
one with a 400 in a sentence."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from leaderboard.boards.arena.categories import CATEGORIES
from leaderboard.boards.arena.export import SINCE_PATTERN, export_includes_parse, since_parse
from tests.factories import model_make, vote_make

# The parser must agree with the schema on near misses as much as on random text: parts of real values.
_SINCE_PIECES = st.sampled_from(
    [
        *("2024", "-", "02", "29", "2023", "0000", "13", "31", "04", "T", "24", "23", ":", "59", "60", "."),
        *("5", "Z", "+", "05:30", "15:00", "1e5", " ", "\n", "٣", "nan", "1708387200", "999999999999"),
    ]
)
_SINCE_TEXT = st.one_of(st.text(max_size=30), st.lists(_SINCE_PIECES, max_size=12).map("".join))
_INCLUDE_TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(["voter_id", "ip_hash", "hidden", "excluded", "password", ",", " ", "\t"])).map(
        "".join
    ),
)


def _parameter(path: str, name: str) -> dict[str, Any]:
    operation = Client().get("/api/v1/openapi.json").json()["paths"][path]["get"]
    return next(parameter["schema"] for parameter in operation["parameters"] if parameter["name"] == name)


def _accepted(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except InvalidInput:
        return False
    return True


def _staff() -> Any:
    return User(username="staff", is_staff=True, is_active=True)


@pytest.fixture(scope="module")
def since_schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return _parameter("/api/v1/battles/export", "since")


@pytest.fixture(scope="module")
def include_schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return _parameter("/api/v1/battles/export", "include")


def test_every_category_param_lists_the_boards_categories_and_an_unknown_one_is_a_400(db):
    for path in ("/api/v1/leaderboard", "/api/v1/leaderboard/without-flagged", "/api/v1/models/{slug}"):
        assert _parameter(path, "category")["enum"] == list(CATEGORIES), path
    model_make(slug="alpha")
    for path in ("/api/v1/leaderboard", "/api/v1/leaderboard/without-flagged", "/api/v1/models/alpha"):
        refused = Client().get(path, {"category": "poetry"})
        assert refused.status_code == 400 and "There is no category 'poetry'" in refused.json()["detail"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(value=_SINCE_TEXT)
@example(value="2024-02-29").via("a leap day")
@example(value="2023-02-29").via("no leap day")
@example(value="1900-02-29").via("a century is no leap year")
@example(value="2000-02-29").via("unless it divides by 400")
@example(value="0000-01-01").via("no year 0")
@example(value="2024-04-31").via("April has 30 days")
@example(value="2024-02-20T24:00").via("no hour 24")
@example(value="1708387200 ").via("a trailing space")
@example(value="1708387200\n").via("a trailing newline")
@example(value="١٧٠٨٣٨٧٢٠٠").via("digits of another script")
def test_since_takes_exactly_what_its_schema_pattern_admits(since_schema: dict[str, Any], value: str):
    admitted = jsonschema_rs.validator_for(since_schema).is_valid(value)
    assert _accepted(since_parse, value) == admitted


def test_the_since_schema_reads_the_parsers_pattern(since_schema: dict[str, Any]):
    assert since_schema["pattern"] == SINCE_PATTERN


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(value=st.from_regex(SINCE_PATTERN, fullmatch=True))
def test_every_since_the_pattern_builds_is_a_time_with_a_zone_or_blank_for_none(value: str):
    parsed = since_parse(value)
    assert parsed is None if value == "" else parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "since",
    ["0001-01-01T00:00+14:59", "9999-12-31T23:59:59.999999-14:59", "99999999999.999999", "2024-02-29", "0"],
)
def test_an_export_since_at_the_edges_of_the_pattern_is_answered(db, since: str):
    vote_make(model_make(slug="alpha"), model_make(slug="beta"))
    response = Client().get("/api/v1/battles/export", {"since": since})
    assert response.status_code == 200, response.content
    list(response.streaming_content)  # type: ignore[attr-defined]  # read to the end: every query runs


@pytest.mark.parametrize(
    ("since", "detail"),
    [
        ("2023-02-29", "an ISO 8601 time such as 2024-02-20T00:00:00Z (a real date"),
        ("1e5", "in plain digits"),
        ("999999999999", "at most 11 before the point"),
    ],
)
def test_an_export_since_outside_the_pattern_is_a_400_saying_what_it_takes(db, since: str, detail: str):
    response = Client().get("/api/v1/battles/export", {"since": since})
    assert response.status_code == 400 and detail in response.json()["detail"]


def test_staff_may_space_the_names_they_include(db):
    vote_make(model_make(slug="alpha"), model_make(slug="beta"))
    client = Client()
    client.force_login(User.objects.create_user(username="staff", password="x-unused-x", is_staff=True))
    response = client.get("/api/v1/battles/export", {"include": " voter_id , hidden "})
    assert response.status_code == 200, response.content
    assert b'"voter_id"' in b"".join(response.streaming_content)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(value=_INCLUDE_TEXT)
@example(value=" voter_id , hidden ").via("spaces around the commas")
@example(value="voter_id,,hidden").via("an empty name")
@example(value="voter_id,").via("a trailing comma")
@example(value="voter_id\t").via("a tab")
def test_include_takes_exactly_what_its_schema_pattern_admits(include_schema: dict[str, Any], value: str):
    admitted = jsonschema_rs.validator_for(include_schema).is_valid(value)
    assert _accepted(lambda text: export_includes_parse(value=text, user=_staff()), value) == admitted
