"""What the ratings API hands out: leaderboard rows (JSON/CSV), snapshots, a model's ratings, the votes;
and the validators (ETag, Last-Modified) each of them is cached by."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Greatest

from arena.models import Model, Vote
from arena.selectors import model_public
from arena.visibility import viewer_moderates
from core.errors import InvalidInput, NotAllowed, NotFound
from core.http import Validators
from leaderboard.boards.arena.selectors import board_rows, model_history, snapshot_get
from leaderboard.boards.arena.votes import (
    VotesChanged,
    VoteTotals,
    vote_totals,
    votes_counted,
    votes_counted_sql,
)
from leaderboard.models import OnlineRating, RatingSnapshot

ROW_KEYS: Final = (
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
)
# The CSV has no nested `intervals`: both kinds' bounds are flat columns beside the shown ones.
CSV_INTERVAL_KEYS: Final = ("bootstrap_lower", "bootstrap_upper", "sandwich_lower", "sandwich_upper")
CSV_KEYS: Final = (
    *ROW_KEYS[: ROW_KEYS.index("ci_upper") + 1],
    *CSV_INTERVAL_KEYS,
    *ROW_KEYS[ROW_KEYS.index("ci_upper") + 1 :],
)
EXPORT_CHUNK: Final = 2000
_SLUG: Final = re.compile(r"[-\w]{1,100}")


# ---------- Leaderboard rows ----------


def snapshot_summary(snapshot: RatingSnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {"version": snapshot.version, "created_at": snapshot.created_at, "votes": snapshot.vote_count}


@dataclass(frozen=True)
class LeaderboardExport:
    snapshot: RatingSnapshot | None
    category: str
    min_battles: int
    rows: list[dict[str, Any]]
    style: bool
    interval: str
    min_votes: int
    totals: VoteTotals | None = None  # live, not the snapshot's

    def to_dict(self) -> dict[str, Any]:
        totals = self.totals or VoteTotals(counted=0, excluded=0, excluded_by_reason={})
        return {
            "snapshot": snapshot_summary(self.snapshot),
            "category": self.category,
            "min_battles": self.min_battles,
            "style": self.style,
            "interval": self.interval,
            "min_votes": self.min_votes,
            "votes": {
                "counted": totals.counted,
                "excluded": totals.excluded,
                "excluded_by_reason": dict(totals.excluded_by_reason),
            },
            "rows": self.rows,
        }


def leaderboard_validators(
    *,
    snapshot: RatingSnapshot | None,
    category: str,
    min_battles: int,
    fmt: str,
    style: bool,
    interval: str,
    votes: VotesChanged | None = None,
) -> Validators:
    # A snapshot never changes once stored (pruning drops matrices only), so its version is enough
    # for the rows; the live vote totals beside them change with `votes` (a vote, counted or not).
    version = snapshot.version if snapshot else 0
    changes = [at for at in (snapshot.created_at if snapshot else None, votes.at if votes else None) if at]
    return Validators.of(
        "leaderboard",
        version,
        votes.last_id if votes else "",
        votes.at.timestamp() if votes and votes.at else "",
        category,
        min_battles,
        fmt,
        style,
        interval,
        settings.LEADERBOARD_MIN_VOTES,
        last_modified=max(changes) if changes else None,
    )


def leaderboard_export(
    *, snapshot: RatingSnapshot | None, category: str, min_battles: int, style: bool, interval: str
) -> LeaderboardExport:
    """The rows as the board ranks them: `ci_lower`/`ci_upper` of the `interval` kind, both kinds
    under `intervals`, provisional models last without a rank."""
    min_votes = settings.LEADERBOARD_MIN_VOTES
    rows = (
        board_rows(
            snapshot=snapshot,
            category=category,
            min_battles=min_battles,
            style=style,
            interval=interval,
            min_votes=min_votes,
        )
        if snapshot is not None
        else []
    )
    info = snapshot.model_info if snapshot is not None else {}
    shaped = []
    for row in rows:
        meta = info.get(row["model"], {})
        shaped.append(
            {
                **{key: row.get(key) for key in ROW_KEYS},
                "name": meta.get("name", row["model"]),
                "organization": meta.get("organization", ""),
                "license": meta.get("license", ""),
                "intervals": row["intervals"],
            }
        )
    return LeaderboardExport(
        snapshot=snapshot,
        category=category,
        min_battles=min_battles,
        rows=shaped,
        style=style,
        interval=interval,
        min_votes=min_votes,
        totals=vote_totals(),
    )


def leaderboard_csv(*, export: LeaderboardExport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_KEYS, "snapshot", "snapshot_created_at"])
    version = export.snapshot.version if export.snapshot else ""
    created = export.snapshot.created_at.isoformat() if export.snapshot else ""
    for row in export.rows:
        intervals = row["intervals"]
        bounds = {
            f"{kind}_{end}": intervals[kind][i]
            for kind in ("bootstrap", "sandwich")
            for i, end in enumerate(("lower", "upper"))
        }
        writer.writerow(
            [_csv_cell(bounds[key] if key in bounds else row[key]) for key in CSV_KEYS] + [version, created]
        )
    return out.getvalue()


def _csv_cell(value: object) -> object:
    return "" if value is None else value


# ---------- Snapshots ----------


def snapshots_validators(*, page: int, page_size: int) -> Validators:
    latest = RatingSnapshot.objects.aggregate(v=Max("version"), at=Max("created_at"))
    count = RatingSnapshot.objects.count()
    return Validators.of("snapshots", latest["v"], count, page, page_size, last_modified=latest["at"])


def snapshot_item(snapshot: RatingSnapshot) -> dict[str, Any]:
    return {
        "version": snapshot.version,
        "created_at": snapshot.created_at,
        "votes": snapshot.vote_count,
        "last_vote_at": snapshot.last_vote_at,
        "categories": dict(snapshot.category_votes),
        "settings": dict(snapshot.settings),
        "compute_seconds": snapshot.compute_seconds,
    }


# ---------- A model ----------


@dataclass(frozen=True)
class ModelRatings:
    model: Model
    snapshot: RatingSnapshot | None
    online: OnlineRating | None

    def validators(self, *, category: str, limit: int) -> Validators:
        changes = [
            value
            for value in (
                self.model.updated_at,
                self.snapshot.created_at if self.snapshot else None,
                self.online.updated_at if self.online else None,
            )
            if value is not None
        ]
        return Validators.of(
            "model",
            self.model.slug,
            self.model.updated_at.timestamp(),
            self.snapshot.version if self.snapshot else 0,
            self.online.updated_at.timestamp() if self.online else 0,
            self.online.battles if self.online else 0,
            category,
            limit,
            last_modified=max(changes) if changes else None,
        )


def model_ratings_get(*, slug: str) -> ModelRatings:
    # A slug is letters, digits, - and _ (a NUL byte would not even reach PostgreSQL).
    model = Model.objects.filter(slug=slug).first() if _SLUG.fullmatch(slug) else None
    if model is None:
        raise NotFound("There is no model with that slug.")
    return ModelRatings(
        model=model,
        snapshot=snapshot_get(),
        online=OnlineRating.objects.filter(model=model).first(),
    )


def model_ratings_payload(*, found: ModelRatings, category: str, limit: int) -> dict[str, Any]:
    ratings: dict[str, Any] = {}
    if found.snapshot is not None:
        for key in found.snapshot.category_votes:
            # The plain rows, as the history is: a model's own page has no style switch.
            rows = board_rows(
                snapshot=found.snapshot,
                category=key,
                style=False,
                min_battles=0,
                min_votes=settings.LEADERBOARD_MIN_VOTES,
                interval=settings.LEADERBOARD_INTERVALS,
            )
            row = next((row for row in rows if row["model"] == found.model.slug), None)
            if row is not None:
                ratings[key] = {
                    k: row.get(k) for k in ROW_KEYS if k not in ("model", "name", "organization", "license")
                }
    model = found.model
    return {
        "model": {**model_public(model), "status": model.status},
        "snapshot": snapshot_summary(found.snapshot),
        "ratings": ratings,
        "online_elo": None
        if found.online is None or not found.online.battles
        else {
            "rating": found.online.rating,
            "votes": found.online.battles,
            "updated_at": found.online.updated_at,
        },
        "history": {
            "category": category,
            "limit": limit,
            "points": [
                {
                    key: point.get(key)
                    for key in ("version", "created_at", "rating", "ci_lower", "ci_upper", "rank", "battles")
                }
                for point in model_history(slug=model.slug, category=category, limit=limit)
            ],
        },
    }


# ---------- Votes, in the common arena format ----------


# What the export leaves out unless staff ask for it (`include`): the voter and the hashed address of
# each vote, battles a moderator hid, and votes that are stored but not counted (with their reasons).
EXPORT_INCLUDES: Final = ("ip_hash", "voter_id", "hidden", "excluded")
# Each one's column of the votes query, and its key and value in a JSON line.
_INCLUDE_COLUMNS: Final = {
    "voter_id": ("voter_id", "'voter_id', v.x_voter_id"),
    "ip_hash": ("ip_hash", "'ip_hash', v.x_ip_hash"),
    "hidden": ("battle__hidden_at", "'hidden', v.x_hidden IS NOT NULL"),
    "excluded": ("exclusions", "'exclusions', to_jsonb(v.x_excluded)"),
}


_INCLUDE_NAME: Final = "(?:" + "|".join(EXPORT_INCLUDES) + ")"
# What `include` takes, in the API schema and in export_includes_parse alike (spaces around the commas
# are let through): both read this one pattern, so a value the schema admits is never refused.
INCLUDE_PATTERN: Final = f"^ *(?:{_INCLUDE_NAME} *(?:, *{_INCLUDE_NAME} *)*)?$"
INCLUDE_RE: Final = re.compile(INCLUDE_PATTERN)


def export_includes_parse(*, value: str | None, user: Any) -> frozenset[str]:
    """`include` (comma-separated names of EXPORT_INCLUDES) as a set: for staff and moderators only."""
    if value is None or value == "":
        return frozenset()
    if not INCLUDE_RE.fullmatch(value):
        unknown = sorted({part.strip() for part in value.split(",")} - {"", *EXPORT_INCLUDES})
        raise InvalidInput(
            f"'include' takes {', '.join(EXPORT_INCLUDES)} (comma-separated), "
            f"got {', '.join(repr(name) for name in unknown) or repr(value)}."
        )
    asked = frozenset(part.strip() for part in value.split(",")) - {""}
    if not asked:
        return asked
    if not viewer_moderates(user=user):
        raise NotAllowed(
            "Only staff can ask the export for voters, addresses, hidden battles or excluded votes; "
            "leave out 'include' for the public export."
        )
    return asked


def _export_votes(*, since: datetime | None, includes: frozenset[str] = frozenset()) -> QuerySet[Vote]:
    if "excluded" in includes:
        # Every stored vote, counted or not, under the same blind-only setting as the counted ones.
        votes = Vote.objects.all()
        if settings.LEADERBOARD_ANONY_ONLY:
            votes = votes.filter(anony=True)
    else:
        votes = votes_counted()
    if "hidden" not in includes:
        votes = votes.filter(battle__hidden_at__isnull=True)
    if since is not None:
        votes = votes.filter(created_at__gt=since)
    return votes


def battles_export_validators(
    *, since: datetime | None, includes: frozenset[str] = frozenset()
) -> Validators:
    # The latest time a counted row entered the database: a live vote's own time, or an import's
    # battle-creation time (imported votes keep their historical time, which can be older).
    votes = _export_votes(since=since, includes=includes)
    found = votes.aggregate(last_id=Max("id"), entered=Max(Greatest("created_at", "battle__created_at")))
    return Validators.of(
        "battles",
        since.timestamp() if since else "",
        ",".join(sorted(includes)),
        votes.count(),
        found["last_id"],
        last_modified=found["entered"],
    )


ExportKey = tuple[datetime, int]


def battles_export_chunk(
    *, since: datetime | None, after: ExportKey | None, includes: frozenset[str] = frozenset()
) -> tuple[list[str], ExportKey | None]:
    """The next JSON lines after `after` in (vote time, id) order.

    Keyset paging keeps each query an index range scan on the vote time, and PostgreSQL writes
    the JSON itself: Python only passes the text on.
    """
    votes = _export_votes(since=since, includes=includes)
    if after is not None:
        # Written as a range on the vote time first, so that each chunk is an index range scan.
        votes = votes.filter(created_at__gte=after[0]).filter(Q(created_at__gt=after[0]) | Q(id__gt=after[1]))
    extra = [name for name in EXPORT_INCLUDES if name in includes]
    counted, params = votes_counted_sql(
        votes,
        "id",
        "created_at",
        "battle__model_a__slug",
        "battle__model_b__slug",
        "winner",
        "anony",
        "categories",
        *(_INCLUDE_COLUMNS[name][0] for name in extra),
    )
    extra_names = "".join(f", x_{name}" for name in extra)
    extra_json = "".join(f", {_INCLUDE_COLUMNS[name][1]}" for name in extra)
    sql = f"""
        SELECT v.id, v.created_at, json_build_object(
            'model_a', v.model_a, 'model_b', v.model_b, 'winner', v.winner,
            'tstamp', extract(epoch FROM v.created_at), 'anony', v.anony, 'categories', v.categories
            {extra_json})::text
        FROM ({counted}) AS v(id, created_at, model_a, model_b, winner, anony, categories{extra_names})
        ORDER BY v.created_at, v.id
        LIMIT %s
    """  # noqa: S608 (the subquery is the ORM's, the extra names are constants, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, EXPORT_CHUNK])
        rows = cursor.fetchall()
    lines = [line + "\n" for _, _, line in rows]
    last = (rows[-1][1], rows[-1][0]) if len(rows) == EXPORT_CHUNK else None
    return lines, last


def battles_export_lines(*, since: datetime | None, includes: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every exported vote as a JSON line, fetched a chunk at a time (for WSGI servers and tests)."""
    after: ExportKey | None = None
    while True:
        lines, after = battles_export_chunk(since=since, after=after, includes=includes)
        # One write per chunk, not per line: a million tiny sends would cost more than the queries.
        if lines:
            yield "".join(lines)
        if after is None:
            return


async def battles_export_lines_async(
    *, since: datetime | None, includes: frozenset[str] = frozenset()
) -> AsyncIterator[str]:
    """The same lines for ASGI servers: each chunk is read in a worker thread, none held in memory."""
    after: ExportKey | None = None
    while True:
        lines, after = await sync_to_async(battles_export_chunk)(since=since, after=after, includes=includes)
        if lines:
            yield "".join(lines)
        if after is None:
            return


# What `since` takes, for the API schema and since_parse alike. Plain digits (up to 11 before the point:
# until the year 5138, so every value is a time datetime can hold) or an ISO 8601 date or date and time
# (minutes, optional seconds and fraction, optional zone) that names a real day: each month's length,
# 29 February only in a leap year, the years 1 to 9999. [0-9] rather than \d: Python's \d takes every
# script's digits, a JSON-Schema (ECMA 262) one only ASCII.
_SECONDS: Final = r"[0-9]{1,11}(?:\.[0-9]+)?"
_YEAR: Final = r"(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_YEAR: Final = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY: Final = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_DATE: Final = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME: Final = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
# Zones to ±14:59: real ones reach +14:00, and PostgreSQL refuses an offset past 15:59.
_ZONE: Final = r"(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])"
_ISO: Final = rf"{_DATE}(?:T{_TIME}{_ZONE}?)?"
# Empty is no bound, as leaving `since` out.
SINCE_PATTERN: Final = rf"^(?:{_SECONDS}|{_ISO})?$"
_SECONDS_RE: Final = re.compile(rf"^{_SECONDS}$")
_ISO_RE: Final = re.compile(rf"^{_ISO}$")


def since_parse(value: str | None) -> datetime | None:
    """`since` as seconds since the epoch or an ISO 8601 time (UTC when it names no zone): exactly the
    values SINCE_PATTERN admits; blank is no bound."""
    if value is None or value == "":
        return None
    if _SECONDS_RE.fullmatch(value):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if _ISO_RE.fullmatch(value):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        float(value)
    except ValueError:
        raise InvalidInput(
            "'since' must be seconds since the epoch or an ISO 8601 time such as 2024-02-20T00:00:00Z "
            f"(a real date, the years 1 to 9999), got {value!r}."
        ) from None
    # A number, but spelt otherwise (an exponent, a sign, a NaN) or past what the pattern allows.
    raise InvalidInput(
        "'since' must be a time between the years 1 and 9999, as seconds since the epoch in plain digits "
        f"(at most 11 before the point, such as 1708387200.5), got {value!r}."
    )
