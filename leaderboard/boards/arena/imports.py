"""Importing historical votes in the common arena format (e.g. another arena's published battles).

Each battle becomes an arena Battle with its Vote (`source="import"`, the file's `tstamp` as the
vote time, its `anony` flag, its `categories` when the file has them), so snapshots and the
battle export count it like a vote cast here: the vote counts are recounted and the online Elo
replayed after the votes are stored. The file is read and checked completely first; the writes
share one transaction and imports run one at a time.

Models are matched the way the General-Level import matches them (slug, display name, or a name
that slugifies to a slug). A name with no arena model becomes a retired arena model under that
name: Battle and Vote need a model row, and a retired model is never drawn into a battle.

Importing the same file again adds nothing: every battle has a key made of its content (models,
winner, tstamp, anony) and how many identical battles came before it in the file. Battles whose
key is already stored are counted as duplicates; self-battles (a model against itself) are
skipped, since the arena cannot hold them.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from arena.models import AdapterKind, Battle, Model, Vote
from arena.versions import MODELS
from core.errors import InvalidInput
from leaderboard.boards.arena.categories import CATEGORIES, OVERALL
from leaderboard.boards.arena.counts import vote_counts_rebuild
from leaderboard.boards.arena.online_elo import online_ratings_replay
from leaderboard.boards.arena.services import arena_board_changed
from leaderboard.boards.arena.style import vote_styles_rebuild
from leaderboard.boards.arena.versions import VOTES
from leaderboard.names import arena_models_match
from leaderboard.ratings.battle_file import battles_read
from leaderboard.ratings.battle_set import WINNER_LABELS, BattleSet

# Any constant: the key of the PostgreSQL advisory lock that serialises battle imports.
_IMPORT_LOCK_KEY: Final = 0x4241_5454_4C45_494D
_IMPORT_ACTOR: Final = "import"  # creator and voter id of imported battles: no person behind them
_BATCH: Final = 5000
_SLUG_LIMIT: Final = 100
_NAME_LIMIT: Final = 200


@dataclass(frozen=True)
class BattleImportResult:
    source: str
    read: int
    imported: int
    duplicates: int
    self_battles: int
    models_matched: dict[str, str] = field(default_factory=dict)  # name in the file -> arena slug
    models_created: dict[str, str] = field(default_factory=dict)  # name in the file -> new slug
    online_elo_votes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "read": self.read,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "self_battles": self.self_battles,
            "models": {"matched": dict(self.models_matched), "created": dict(self.models_created)},
            "online_elo_votes": self.online_elo_votes,
        }


def battles_import(*, path: Path) -> BattleImportResult:
    """Read a battles file (JSON list or JSON lines) and store its battles as historical votes."""
    try:
        battles = battles_read(path=path)
    except OSError as error:
        raise InvalidInput(f"Cannot read {path}: {error.strerror or error}.") from None
    except ValueError as error:
        raise InvalidInput(f"{path.name}: {error}") from None
    categories = _categories_read(path=path, count=len(battles))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_KEY])
        result = _battles_store(battles=battles, categories=categories, source=path.name)
        if result.imported:
            # Recounted, not stepped: thousands of votes at once. Before the replay, in the order a
            # vote takes its locks (counts, then ratings), so a vote cast meanwhile waits, not deadlocks.
            vote_counts_rebuild()
            vote_styles_rebuild()
            result = replace(result, online_elo_votes=online_ratings_replay())
            # The models an import creates are bulk-created: no signal bumps their version.
            arena_board_changed(VOTES, MODELS)
    return result


def _categories_read(*, path: Path, count: int) -> list[list[str]]:
    """Each battle's `categories` (known labels only), when the file carries them (our own export does)."""
    data = path.read_bytes()
    if b'"categories"' not in data:
        return [[] for _ in range(count)]
    known = set(CATEGORIES) - {OVERALL}
    text = data.decode("utf-8")
    stripped = text.lstrip()
    # battles_read already checked the file; these rows line up with its battles one to one.
    rows = (
        json.loads(stripped)
        if stripped.startswith("[")
        else [json.loads(line) for line in text.splitlines() if line.strip()]
    )
    labels = []
    for row in rows:
        value = row.get("categories") if isinstance(row, dict) else None
        labels.append(
            sorted({str(item) for item in value if str(item) in known}) if isinstance(value, list) else []
        )
    if len(labels) != count:
        raise InvalidInput(f"{path.name}: could not line up the categories with the battles.")
    return labels


def _models_resolve(
    *, names: tuple[str, ...], source: str
) -> tuple[dict[str, Model], dict[str, str], dict[str, str]]:
    """The arena model of every name in the file, creating retired models for unknown names."""
    matched = arena_models_match(names=names, filename=source)
    new_slugs: dict[str, str] = {}
    taken: dict[str, str] = {}
    for name in names:
        if name in matched:
            continue
        if len(name) > _NAME_LIMIT:
            raise InvalidInput(f"{source}: model name {name[:40]!r}… is over {_NAME_LIMIT} characters.")
        slug = slugify(name)[:_SLUG_LIMIT].strip("-_")
        if not slug:
            slug = "imported-" + hashlib.sha256(name.encode()).hexdigest()[:12]
        if slug in taken:
            raise InvalidInput(
                f"{source}: models {taken[slug]!r} and {name!r} would both be stored as {slug!r}; "
                "rename one of them in the file."
            )
        taken[slug] = name
        new_slugs[name] = slug
    created = Model.objects.bulk_create(
        [
            Model(
                slug=slug,
                display_name=name,
                # Not servable until someone configures it: retired models are never drawn.
                status=Model.Status.RETIRED,
                adapter_kind=AdapterKind.OPENAI,
                adapter_config={},
                input_modalities=[],
                sampling_weight=0.0,
            )
            for name, slug in new_slugs.items()
        ]
    )
    by_name = {**matched, **{model.display_name: model for model in created}}
    return (
        by_name,
        {name: model.slug for name, model in matched.items()},
        dict(new_slugs),
    )


def _battle_rows(*, battles: BattleSet) -> Iterator[tuple[int, int, int, float, bool]]:
    """Each battle as (model_a index, model_b index, outcome, tstamp or NaN, anony), in file order."""
    return zip(
        battles.model_a.tolist(),
        battles.model_b.tolist(),
        battles.outcome.tolist(),
        battles.tstamp.tolist(),
        battles.anony.tolist(),
        strict=True,
    )


def _battle_keys(*, battles: BattleSet) -> list[str]:
    """A key per battle: its content, and how many identical battles came before it in the file."""
    seen: Counter[str] = Counter()
    keys = []
    names = battles.models
    for a, b, outcome, stamp, anony in _battle_rows(battles=battles):
        content = json.dumps(
            [names[a], names[b], WINNER_LABELS[outcome], None if math.isnan(stamp) else stamp, anony]
        )
        digest = hashlib.sha256(content.encode()).hexdigest()[:64]
        keys.append(f"{digest}:{seen[digest]}")
        seen[digest] += 1
    return keys


def _keys_stored(*, keys: list[str]) -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(keys), 10_000):
        chunk = keys[start : start + 10_000]
        found = Vote.objects.filter(import_key__in=chunk).values_list("import_key", flat=True)
        stored.update(key for key in found if key is not None)
    return stored


def _battles_store(*, battles: BattleSet, categories: list[list[str]], source: str) -> BattleImportResult:
    by_name, matched, created = _models_resolve(names=battles.models, source=source)
    keys = _battle_keys(battles=battles)
    stored = _keys_stored(keys=keys)
    now = timezone.now()
    new_battles: list[Battle] = []
    new_votes: list[Vote] = []
    duplicates = self_battles = 0
    for i, (a, b, outcome, stamp, anony) in enumerate(_battle_rows(battles=battles)):
        if a == b:
            self_battles += 1
            continue
        if keys[i] in stored:
            duplicates += 1
            continue
        battle = Battle(
            id=uuid.uuid4(),
            model_a=by_name[battles.models[a]],
            model_b=by_name[battles.models[b]],
            creator_id=_IMPORT_ACTOR,
        )
        new_battles.append(battle)
        new_votes.append(
            Vote(
                battle=battle,
                winner=WINNER_LABELS[outcome],
                voter_id=_IMPORT_ACTOR,
                created_at=now if math.isnan(stamp) else datetime.fromtimestamp(stamp, tz=UTC),
                categories=categories[i],
                anony=bool(anony),
                source=Vote.Source.IMPORT,
                import_key=keys[i],
            )
        )
    Battle.objects.bulk_create(new_battles, batch_size=_BATCH)
    Vote.objects.bulk_create(new_votes, batch_size=_BATCH)
    return BattleImportResult(
        source=source,
        read=len(battles),
        imported=len(new_votes),
        duplicates=duplicates,
        self_battles=self_battles,
        models_matched=matched,
        models_created=created,
    )
