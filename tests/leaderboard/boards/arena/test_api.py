"""REST: the leaderboard (JSON/CSV), snapshots, a model, the vote export; ETag/Last-Modified, 304s, CORS."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from django.utils.http import http_date

from arena.models import Model, Vote
from leaderboard.boards.arena import export
from leaderboard.boards.arena.online_elo import online_rating_apply
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.models import OnlineRating
from tests.conftest import LiveStack
from tests.factories import battle_make, model_make, vote_make

ROW_KEYS = {
    "rank",
    "rank_lower",
    "rank_upper",
    "model",
    "name",
    "organization",
    "license",
    "rating",
    "ci_lower",
    "ci_upper",
    "online_elo",
    "battles",
    "win_rate",
    "provisional",
}
JSON_ROW_KEYS = ROW_KEYS | {"intervals"}
CSV_INTERVAL_KEYS = {"bootstrap_lower", "bootstrap_upper", "sandwich_lower", "sandwich_upper"}
EXPORT_KEYS = {"model_a", "model_b", "winner", "tstamp", "anony", "categories"}


@pytest.fixture
def rated(settings, db) -> dict[str, Model]:
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 10
    # A handful of votes: these tests are about the API's shape, so every model is ranked here
    # (test_provisional.py shows what too few votes do).
    settings.LEADERBOARD_MIN_VOTES = 1
    alpha = model_make(slug="alpha", display_name="Alpha VL", organization="Lab A", license="mit")
    beta = model_make(slug="beta", display_name="Beta VL", organization="Lab B")
    gamma = model_make(slug="gamma", display_name="Gamma VL")
    for winner, a, b, categories in [
        ("model_a", alpha, beta, ["image", "ocr"]),
        ("model_a", alpha, beta, ["text"]),
        ("model_b", beta, alpha, ["text"]),
        ("tie", alpha, gamma, ["text", "code"]),
        ("model_a", beta, gamma, ["image"]),
        ("model_b", gamma, alpha, ["image"]),
    ]:
        vote_make(a, b, winner, categories=categories)
        online_rating_apply(model_a=a, model_b=b, winner=winner)
    snapshot_compute()
    return {"alpha": alpha, "beta": beta, "gamma": gamma}


# A browser names the page's origin on every cross-origin read; the CORS headers answer it.
ELSEWHERE = {"Origin": "https://elsewhere.example"}


def _cors(response) -> None:
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]


# ---------- /leaderboard ----------


def test_leaderboard_rows_with_the_snapshot_they_come_from(rated):
    response = Client(headers=ELSEWHERE).get("/api/v1/leaderboard")
    assert response.status_code == 200
    body = response.json()
    assert (
        body["snapshot"]["version"] == 1 and body["snapshot"]["votes"] == 6 and body["snapshot"]["created_at"]
    )
    assert body["category"] == "overall"
    rows = body["rows"]
    assert rows[0]["model"] == "alpha"
    assert all(set(row) == JSON_ROW_KEYS for row in rows)
    alpha = rows[0]
    assert (alpha["name"], alpha["organization"], alpha["license"]) == ("Alpha VL", "Lab A", "mit")
    assert (
        alpha["battles"] == 5
        and alpha["rank"] == 1
        and alpha["ci_lower"] <= alpha["rating"] <= alpha["ci_upper"]
    )
    assert alpha["online_elo"] == pytest.approx(OnlineRating.objects.get(model=rated["alpha"]).rating)
    _cors(response)
    assert response["ETag"].startswith('W/"') and response["Last-Modified"]


def test_leaderboard_per_category_with_a_minimum_of_battles(rated):
    image = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?category=image").json()
    assert {row["model"]: row["battles"] for row in image["rows"]} == {"alpha": 2, "beta": 2, "gamma": 2}
    kept = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?category=text&min_battles=3").json()
    assert [row["model"] for row in kept["rows"]] == ["alpha"] and kept["rows"][0]["rank"] == 1
    assert Client(headers=ELSEWHERE).get("/api/v1/leaderboard?category=video").json()["rows"] == []
    bad = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?category=poetry")
    assert bad.status_code == 400 and "There is no category 'poetry'" in bad.json()["detail"]


def test_an_earlier_snapshot_can_be_asked_for_and_a_missing_one_is_a_404(rated):
    vote_make(rated["beta"], rated["alpha"], "model_a")
    snapshot_compute()
    latest = Client(headers=ELSEWHERE).get("/api/v1/leaderboard").json()
    first = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?snapshot=1").json()
    assert (latest["snapshot"]["version"], first["snapshot"]["version"]) == (2, 1)
    assert first["snapshot"]["votes"] == 6 and latest["snapshot"]["votes"] == 7
    missing = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?snapshot=99")
    assert missing.status_code == 404 and missing.json() == {"detail": "There is no snapshot 99."}


def test_leaderboard_as_csv_has_the_same_columns_and_the_snapshot(rated):
    response = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?format=csv&category=image")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="arena-leaderboard-image.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert set(rows[0]) == ROW_KEYS | CSV_INTERVAL_KEYS | {"snapshot", "snapshot_created_at"}
    assert {row["model"] for row in rows} == {"alpha", "beta", "gamma"}
    assert rows[0]["snapshot"] == "1"
    json_rows = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?category=image").json()["rows"]
    assert float(rows[0]["rating"]) == pytest.approx(json_rows[0]["rating"])
    _cors(response)
    assert response["ETag"] != Client(headers=ELSEWHERE).get("/api/v1/leaderboard?category=image")["ETag"]


def test_the_csv_has_both_kinds_of_interval_beside_the_shown_one(rated):
    for interval in ("bootstrap", "sandwich"):
        query = f"?category=overall&style=off&intervals={interval}"
        text = Client().get(f"/api/v1/leaderboard{query}&format=csv").content.decode()
        header = text.splitlines()[0].split(",")
        shown = header.index("ci_upper")
        assert header[shown + 1 : shown + 5] == [
            "bootstrap_lower",
            "bootstrap_upper",
            "sandwich_lower",
            "sandwich_upper",
        ]
        rows = {row["model"]: row for row in csv.DictReader(io.StringIO(text))}
        json_rows = Client().get(f"/api/v1/leaderboard{query}").json()["rows"]
        assert set(rows) == {row["model"] for row in json_rows}
        for expected in json_rows:
            row = rows[expected["model"]]
            for kind in ("bootstrap", "sandwich"):
                lower, upper = expected["intervals"][kind]
                assert float(row[f"{kind}_lower"]) == pytest.approx(lower)
                assert float(row[f"{kind}_upper"]) == pytest.approx(upper)
            assert [float(row["ci_lower"]), float(row["ci_upper"])] == pytest.approx(
                expected["intervals"][interval]
            )
            assert row["sandwich_lower"] != row["bootstrap_lower"]


def test_no_snapshot_yet_is_an_empty_board(db):
    body = Client(headers=ELSEWHERE).get("/api/v1/leaderboard").json()
    assert body == {
        "snapshot": None,
        "category": "overall",
        "min_battles": 0,
        "style": True,
        "interval": "bootstrap",
        "min_votes": 100,
        "votes": {"counted": 0, "excluded": 0, "excluded_by_reason": {}},
        "rows": [],
    }


def test_the_etag_gives_304_until_a_new_snapshot(rated):
    client = Client(headers=ELSEWHERE)
    first = client.get("/api/v1/leaderboard")
    again = client.get("/api/v1/leaderboard", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    _cors(again)
    other = client.get("/api/v1/leaderboard?category=text", headers={"If-None-Match": first["ETag"]})
    assert other.status_code == 200, "another query is another representation"
    vote_make(rated["gamma"], rated["beta"])
    snapshot_compute()
    assert client.get("/api/v1/leaderboard", headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_if_modified_since_gives_304_and_if_none_match_wins_over_it(rated):
    client = Client(headers=ELSEWHERE)
    first = client.get("/api/v1/leaderboard")
    stamp = first["Last-Modified"]
    assert client.get("/api/v1/leaderboard", headers={"If-Modified-Since": stamp}).status_code == 304
    earlier = http_date((datetime.now(UTC) - timedelta(days=1)).timestamp())
    assert client.get("/api/v1/leaderboard", headers={"If-Modified-Since": earlier}).status_code == 200
    both = client.get(
        "/api/v1/leaderboard", headers={"If-Modified-Since": stamp, "If-None-Match": 'W/"other"'}
    )
    assert both.status_code == 200


def test_preflight_allows_any_origin_to_send_the_validators(db):
    for path in (
        "/api/v1/leaderboard",
        "/api/v1/leaderboard/snapshots",
        "/api/v1/models/alpha",
        "/api/v1/battles/export",
    ):
        response = Client(headers=ELSEWHERE).options(path, headers={"Access-Control-Request-Method": "GET"})
        assert response.status_code in (200, 204), path
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "GET" in response["Access-Control-Allow-Methods"]
        assert "if-none-match" in response["Access-Control-Allow-Headers"].lower()


def test_errors_of_the_read_endpoints_carry_cors_too(db):
    missing = Client(headers=ELSEWHERE).get("/api/v1/leaderboard?snapshot=99")
    assert missing.status_code == 404
    _cors(missing)


def test_the_voting_endpoints_are_not_open_to_other_origins(db):
    response = Client(headers=ELSEWHERE).options(
        "/api/v1/battles", headers={"Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in response


# ---------- /leaderboard/snapshots ----------


def test_snapshots_are_listed_newest_first_a_page_at_a_time(rated):
    for _ in range(4):
        vote_make(rated["alpha"], rated["gamma"])
        snapshot_compute()
    client = Client(headers=ELSEWHERE)
    page = client.get("/api/v1/leaderboard/snapshots?page_size=2").json()
    assert (page["count"], page["pages"], page["page"]) == (5, 3, 1)
    assert [item["version"] for item in page["items"]] == [5, 4]
    assert page["next"] == "/api/v1/leaderboard/snapshots?page=2&page_size=2" and page["previous"] is None
    item = page["items"][0]
    assert (
        item["votes"] == 10
        and item["categories"]["overall"] == 10
        and item["settings"]["bootstrap_rounds"] == 10
    )
    last = client.get(page["next"].replace("page=2", "page=3")).json()
    assert [item["version"] for item in last["items"]] == [1] and last["next"] is None
    listed = client.get("/api/v1/leaderboard/snapshots?page_size=2")
    _cors(listed)
    assert (
        client.get(
            "/api/v1/leaderboard/snapshots?page_size=2", headers={"If-None-Match": listed["ETag"]}
        ).status_code
        == 304
    )
    assert client.get("/api/v1/leaderboard/snapshots?page_size=500").status_code == 422


# ---------- /models/{slug} ----------


def test_a_model_has_its_ratings_per_category_and_its_history(rated):
    vote_make(rated["alpha"], rated["beta"], categories=["image"])
    snapshot_compute()
    response = Client(headers=ELSEWHERE).get("/api/v1/models/alpha")
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == {
        "slug": "alpha",
        "name": "Alpha VL",
        "organization": "Lab A",
        "license": "mit",
        "modalities": ["text", "image"],
        "status": "active",
    }
    assert body["snapshot"]["version"] == 2
    assert set(body["ratings"]) == {"overall", "image", "ocr", "text", "code"}
    assert body["ratings"]["image"]["battles"] == 3
    assert body["online_elo"]["votes"] == 5
    points = body["history"]["points"]
    assert [point["version"] for point in points] == [1, 2]
    assert [point["battles"] for point in points] == [5, 6]
    ocr = Client(headers=ELSEWHERE).get("/api/v1/models/alpha?category=ocr&history=1").json()["history"]
    assert ocr["category"] == "ocr" and [point["version"] for point in ocr["points"]] == [2]
    _cors(response)
    assert (
        Client(headers=ELSEWHERE)
        .get("/api/v1/models/alpha", headers={"If-None-Match": response["ETag"]})
        .status_code
        == 304
    )


def test_an_unknown_model_is_a_404_and_the_active_model_list_still_works(rated):
    missing = Client(headers=ELSEWHERE).get("/api/v1/models/nobody")
    assert missing.status_code == 404 and missing.json() == {"detail": "There is no model with that slug."}
    listed = Client(headers=ELSEWHERE).get("/api/v1/models").json()
    assert {model["slug"] for model in listed} == {"alpha", "beta", "gamma"}


# ---------- /battles/export ----------


def _lines(response) -> list[dict[str, object]]:
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines()]


def test_export_streams_valid_anonymous_votes_in_the_arena_format_without_people(rated):
    vote_make(rated["alpha"], rated["beta"], anony=False)
    vote_make(rated["alpha"], rated["beta"], is_valid=False)
    response = Client(headers=ELSEWHERE).get("/api/v1/battles/export?format=jsonl")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = _lines(response)
    assert len(lines) == 6
    assert all(set(line) == EXPORT_KEYS for line in lines)
    assert lines[0] == {
        "model_a": "alpha",
        "model_b": "beta",
        "winner": "model_a",
        "tstamp": pytest.approx(Vote.objects.order_by("id").first().created_at.timestamp()),
        "anony": True,
        "categories": ["image", "ocr"],
    }
    raw = json.dumps(lines)
    assert "voter-1" not in raw and "hash-of-an-ip" not in raw
    _cors(response)
    assert response["ETag"] and response["Last-Modified"]


def test_export_since_keeps_the_later_votes_and_is_read_back_by_the_cli(rated, tmp_path):
    cut = Vote.objects.order_by("id")[2].created_at
    later = _lines(Client(headers=ELSEWHERE).get(f"/api/v1/battles/export?since={cut.timestamp()}"))
    assert len(later) == 3
    iso = _lines(Client(headers=ELSEWHERE).get("/api/v1/battles/export", {"since": cut.isoformat()}))
    assert iso == later
    path = tmp_path / "export.jsonl"
    path.write_text(
        "".join(
            json.dumps(line) + "\n"
            for line in _lines(Client(headers=ELSEWHERE).get("/api/v1/battles/export"))
        )
    )
    from django.core.management import call_command

    out = io.StringIO()
    call_command("compute_ratings", "--battles", str(path), "--json", "--bootstrap", "5", stdout=out)
    assert {row["model"] for row in json.loads(out.getvalue())} == {"alpha", "beta", "gamma"}
    bad = Client(headers=ELSEWHERE).get("/api/v1/battles/export?since=last-tuesday")
    assert bad.status_code == 400 and "'since' must be" in bad.json()["detail"]


def test_export_reads_in_chunks(rated, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_CHUNK", 4)
    for _ in range(5):
        vote_make(rated["beta"], rated["gamma"])
    lines = _lines(Client(headers=ELSEWHERE).get("/api/v1/battles/export"))
    assert len(lines) == 11
    times = [line["tstamp"] for line in lines]
    assert times == sorted(times)


def test_export_etag_changes_with_a_new_vote_and_gives_304_before(rated):
    client = Client(headers=ELSEWHERE)
    first = client.get("/api/v1/battles/export")
    assert client.get("/api/v1/battles/export", headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert (
        client.get(
            "/api/v1/battles/export", headers={"If-Modified-Since": first["Last-Modified"]}
        ).status_code
        == 304
    )
    vote_make(rated["beta"], rated["gamma"])
    assert client.get("/api/v1/battles/export", headers={"If-None-Match": first["ETag"]}).status_code == 200


def test_export_is_streamed_asynchronously_under_asgi(rated):
    async def fetch() -> list[bytes]:
        response = await AsyncClient(headers=ELSEWHERE).get("/api/v1/battles/export")
        assert response.status_code == 200
        return [chunk async for chunk in response.streaming_content]  # type: ignore[attr-defined]

    chunks = async_to_sync(fetch)()
    assert len(b"".join(chunks).splitlines()) == 6


def test_the_export_route_and_a_battles_route_both_work(rated):
    battle = battle_make()
    Vote.objects.create(battle=battle, winner="tie", voter_id="voter-1")  # voted: shared at its link
    assert Client(headers=ELSEWHERE).get("/api/v1/battles/export").status_code == 200
    detail = Client(headers=ELSEWHERE).get(f"/api/v1/battles/{battle.pk}")
    assert detail.status_code == 200 and detail.json()["id"] == str(battle.pk)
    missing = Client(headers=ELSEWHERE).get("/api/v1/battles/not-a-uuid")
    assert missing.status_code == 404 and "no such" in missing.json()["detail"]


def test_the_endpoints_are_documented_in_openapi(db):
    paths = Client(headers=ELSEWHERE).get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/leaderboard",
        "/api/v1/leaderboard/snapshots",
        "/api/v1/models/{slug}",
        "/api/v1/battles/export",
    ):
        assert "get" in paths[path], path
        assert "options" not in paths[path]
    assert "text/csv" in json.dumps(paths["/api/v1/leaderboard"]["get"]["responses"])


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_export_streams_from_the_live_server(live_stack: LiveStack):
    alpha, beta = model_make(slug="live-alpha"), model_make(slug="live-beta")
    for _ in range(3):
        vote_make(alpha, beta)
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as client:
        with client.stream(
            "GET", "/api/v1/battles/export", headers={"Origin": "https://elsewhere.example"}
        ) as response:
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "*"
            assert response.headers.get("transfer-encoding") == "chunked"
            lines = [json.loads(line) for line in response.iter_lines() if line]
        assert [line["model_a"] for line in lines] == ["live-alpha"] * 3
        cached = client.get("/api/v1/battles/export", headers={"If-None-Match": response.headers["etag"]})
        assert cached.status_code == 304


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/api/v1/models/%00", 400, "holds a NUL character"),
        ("/api/v1/models/" + "x" * 300, 404, "There is no model with that slug."),
        ("/api/v1/battles/export?since=1e400", 400, "'since' must be a time between the years 1 and 9999"),
        ("/api/v1/battles/export?since=nan", 400, "'since' must be a time between the years 1 and 9999"),
        ("/api/v1/battles/export?since=-1e300", 400, "'since' must be a time between the years 1 and 9999"),
        ("/api/v1/leaderboard/snapshots?page=9223372036854775807", 422, "page"),
        ("/api/v1/attachments/%00", 400, "holds a NUL character"),
    ],
)
def test_input_out_of_range_is_a_4xx_with_a_sentence(db, path: str, status: int, detail: str):
    response = Client().get(path)
    assert response.status_code == status, response.content
    assert detail in response.json()["detail"]
