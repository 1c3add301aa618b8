"""Who may use the console: every URL under /moderation/, read from the URL conf (a new one cannot be
missed), with both methods, for an anonymous visitor, a plain user, staff without the group, a
moderator and a superuser; and who may make moderators."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, reverse

from arena.models import Ban, FlaggedVoter, Model, Report
from moderation import urls as moderation_urls
from moderation.models import AuditEntry
from tests.factories import battle_make, command_output
from tests.moderation.helpers import counted_vote_make, user_make

pytestmark = pytest.mark.django_db

ROUTES: list[URLPattern] = [p for p in moderation_urls.urlpatterns if isinstance(p, URLPattern)]
ROLES = ["anonymous", "plain", "staff", "moderator", "superuser"]
# Each action's name in the URL, where the route takes one.
ACTION_OF_ROUTE = {"battle-action": "hide", "subject-action": "invalidate", "submission-action": "reject"}


@pytest.fixture
def objects(db: None) -> dict[str, Any]:
    """Something real behind every kind of id a console URL takes."""
    battle = battle_make(creator_id="voter-x")
    vote = counted_vote_make(battle.model_a, battle.model_b, voter_id="voter-x")
    report = Report.objects.create(battle=battle, reporter_id="voter-y", reason=Report.Reason.HARMFUL)
    ban = Ban.objects.create(kind=Ban.Kind.VOTER, value_hash="c" * 64, reason="spam")
    FlaggedVoter.objects.create(voter_id="voter-x", votes=40, agreement=0.1, z_score=-5.0)
    return {
        "battle_id": battle.pk,
        "vote_id": vote.pk,
        "report_id": report.pk,
        "ban_id": ban.pk,
        "slug": Model.objects.first().slug,  # type: ignore[union-attr]
        "kind": "voter",
        "value": "voter-x",
        "submission_id": "00000000-0000-4000-8000-000000000000",
    }


def _url(route: URLPattern, objects: dict[str, Any]) -> str:
    names = list(route.pattern.converters)
    kwargs = {name: ACTION_OF_ROUTE[str(route.name)] if name == "action" else objects[name] for name in names}
    return reverse(f"moderation:{route.name}", kwargs=kwargs)


def _client(role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(user_make(role=role))
    return client


def test_every_console_route_is_in_the_matrix():
    # A route whose ids this test cannot fill would fail below with a KeyError; this names them all.
    assert {route.name for route in ROUTES} >= {"overview", "battle", "vote-invalidate", "audit-csv"}
    assert all(route.name for route in ROUTES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_each_console_url_and_method_answers_each_role_as_its_rights_say(route, role, objects):
    url = _url(route, objects)
    client = _client(role)
    get, post = client.get(url), client.post(url, {})
    if role == "anonymous":
        for response in (get, post):
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/?next=")
    elif role in ("plain", "staff"):
        assert (get.status_code, post.status_code) == (403, 403), url
        assert b"Moderators only" in get.content
    else:
        # A page answers GET and refuses POST; an action refuses GET, and an empty POST is refused
        # for its missing reason (so the gate let it through to the form).
        assert {get.status_code, post.status_code} in ({200, 405}, {400, 405}), (url, get, post)
        if get.status_code == 405:
            assert post.status_code == 400 and b"reason" in post.content.lower()


@pytest.mark.parametrize("role", ["anonymous", "plain", "staff"])
@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name not in {"overview"}], ids=lambda route: route.name
)
def test_a_complete_action_by_someone_without_the_right_changes_nothing(route, role, objects):
    body = {"reason": "because", "resolution": "done", "status": "paused", "confirmed": "True"}
    client = _client(role)
    client.post(_url(route, objects), body)
    assert not AuditEntry.objects.exists()
    assert Ban.objects.count() == 1
    assert Model.objects.filter(status=Model.Status.PAUSED).count() == 0


def test_staff_rights_alone_do_not_open_the_console_but_the_moderator_group_does():
    staff = user_make(role="staff")
    client = Client()
    client.force_login(staff)
    assert client.get("/moderation/").status_code == 403
    staff.groups.add(Group.objects.get(name="moderator"))
    assert client.get("/moderation/").status_code == 200


def test_the_moderator_command_adds_and_removes_a_moderator():
    user = user_make(role="plain")
    client = Client()
    client.force_login(user)
    assert client.get("/moderation/").status_code == 403

    assert "is now a moderator" in command_output("moderator", "add", user.email)
    assert user.email in command_output("moderator", "list")
    assert client.get("/moderation/").status_code == 200

    command_output("moderator", "remove", user.email)
    assert client.get("/moderation/").status_code == 403


def test_the_moderator_command_names_an_unknown_address():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No account has the address"):
        command_output("moderator", "add", "nobody@example.org")


def test_only_superusers_edit_groups_and_privileges_in_the_admin():
    """Staff allowed to edit users cannot give anyone the moderator group or the permission."""
    from django.contrib.auth.models import Permission

    staff = user_make(role="staff")
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    staff.user_permissions.add(*Permission.objects.filter(content_type__model="group"))
    client = Client()
    client.force_login(staff)
    target = user_make(role="plain")
    group = Group.objects.get(name="moderator")

    assert client.get(reverse("admin:auth_group_change", args=[group.pk])).status_code == 403
    page = client.get(reverse("admin:auth_user_change", args=[target.pk]))
    assert page.status_code == 200
    assert b'name="groups"' not in page.content
    client.post(
        reverse("admin:auth_user_change", args=[target.pk]),
        {"username": target.username, "email": target.email, "groups": [group.pk], "is_active": "on",
         "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"},
    )  # fmt: skip
    assert not User.objects.get(pk=target.pk).groups.exists()

    superuser = user_make(role="superuser")
    client.force_login(superuser)
    page = client.get(reverse("admin:auth_user_change", args=[target.pk]))
    assert b'name="groups"' in page.content
    assert client.get(reverse("admin:auth_group_change", args=[group.pk])).status_code == 200


@pytest.mark.parametrize(("role", "shown"), [("plain", False), ("staff", False), ("moderator", True)])
def test_the_site_header_links_to_the_console_for_moderators_only(role, shown):
    page = _client(role).get("/account/tokens/").content.decode()
    assert ('href="/moderation/"' in page) is shown
