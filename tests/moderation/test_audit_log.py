"""The audit log: every action listed with who, what, when, why and what changed; filterable; CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moderation import services
from moderation.models import AuditEntry
from tests.factories import battle_make
from tests.moderation.helpers import user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """Two moderators' actions: a hide by one (a week ago), a block and a model pause by the other."""
    alice, bob = user_make(role="moderator"), user_make(role="superuser")
    first, second = battle_make(), battle_make()
    old = services.battle_hide(actor=alice, battle_id=first.pk, reason="Personal data")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=7))
    services.battle_prompt_block(actor=bob, battle_id=second.pk, reason='=HYPERLINK("http://x")')
    services.model_status_set(actor=bob, slug=second.model_a.slug, status="paused", reason="Leaks")
    return {"alice": alice, "bob": bob, "first": first, "second": second}


def _console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_log_lists_every_action_newest_first(history):
    page = _console(history["alice"]).get("/moderation/audit/").content.decode()
    actions = [
        line.split('data-action="')[1].split('"')[0] for line in page.split("\n") if "data-action=" in line
    ]
    assert actions == ["model_status_set", "battle_prompt_block", "battle_hide"]
    assert history["alice"].email in page and "Personal data" in page


def _day(days_ago: int) -> str:
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


@pytest.mark.parametrize(
    ("make_query", "expected"),
    [
        (lambda h: {"action": "battle_hide"}, ["battle_hide"]),
        (lambda h: {"actor": h["alice"].email.upper()}, ["battle_hide"]),
        (lambda h: {"target": str(h["first"].pk)[:8]}, ["battle_hide"]),
        (lambda h: {"since": _day(0)}, ["model_status_set", "battle_prompt_block"]),
        (lambda h: {"until": _day(1)}, ["battle_hide"]),
        (lambda h: {"action": "battle_hide", "since": _day(0)}, []),
    ],
    ids=["action", "actor", "target", "since", "until", "both"],
)
def test_the_page_and_the_csv_export_follow_the_filters(history, make_query, expected):
    query = make_query(history)
    response = _console(history["alice"]).get(reverse("moderation:audit-csv"), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    assert [row["action"] for row in _rows(response)] == expected
    page = _console(history["alice"]).get(reverse("moderation:audit"), query)
    assert page.content.decode().count('<tr data-action="') == len(expected)


def test_the_csv_holds_who_what_why_and_what_changed_and_no_formula(history):
    rows = _rows(_console(history["bob"]).get(reverse("moderation:audit-csv")))
    assert list(rows[0]) == [
        "id",
        "created_at",
        "actor",
        "action",
        "target_kind",
        "target_id",
        "reason",
        "changes",
    ]
    pause = rows[0]
    assert pause["actor"] == history["bob"].email
    assert (pause["target_kind"], pause["target_id"]) == ("model", history["second"].model_a.slug)
    assert json.loads(pause["changes"]) == {"status": ["active", "paused"]}
    # A reason typed as a spreadsheet formula is exported as text.
    assert rows[1]["reason"].startswith("'=HYPERLINK")


def test_the_log_is_read_only_in_the_admin_even_for_a_superuser(history):
    client = _console(history["bob"])
    entry = AuditEntry.objects.first()
    assert entry is not None
    assert client.get(reverse("admin:moderation_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:moderation_auditentry_add")).status_code == 403
    client.post(reverse("admin:moderation_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
