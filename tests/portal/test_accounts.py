"""Accounts through the real allauth views: sign-up, sign-in, sign-out, password reset, the login limit."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.org"
PASSWORD = "violet kettle orbit 42"
NEW_PASSWORD = "a brand new secret phrase"


@pytest.fixture
def ada() -> User:
    return User.objects.create_user(username="ada", email=EMAIL, password=PASSWORD)


def _sign_in(client: Client, *, email: str = EMAIL, password: str = PASSWORD) -> str:
    response = client.post("/accounts/login/", {"login": email, "password": password})
    return response.content.decode() if response.status_code == 200 else response["Location"]


def _signed_in_as(client: Client) -> str | None:
    user = client.get("/accounts/email/", follow=False).wsgi_request.user
    return user.email if user.is_authenticated else None


def test_sign_up_asks_email_and_password_only_signs_in_and_sends_a_confirmation() -> None:
    client = Client()
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="email"' in page and 'name="password1"' in page and 'name="username"' not in page

    response = client.post(
        "/accounts/signup/", {"email": "grace@example.org", "password1": PASSWORD, "password2": PASSWORD}
    )

    assert response.status_code == 302
    assert User.objects.get(email="grace@example.org").check_password(PASSWORD)
    assert _signed_in_as(client) == "grace@example.org"
    [confirmation] = mail.outbox
    assert confirmation.to == ["grace@example.org"]
    assert "/accounts/confirm-email/" in confirmation.body


def test_sign_up_refuses_a_weak_password_with_a_sentence() -> None:
    response = Client().post(
        "/accounts/signup/", {"email": "grace@example.org", "password1": "12345678", "password2": "12345678"}
    )

    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert not User.objects.filter(email="grace@example.org").exists()


def test_sign_in_shows_the_email_in_the_header_and_sign_out_ends_the_session(ada: User) -> None:
    client = Client()

    assert _sign_in(client) == "/"
    header = client.get("/accounts/email/").content.decode()
    assert EMAIL in header and "Sign out" in header

    assert client.post("/accounts/logout/").status_code == 302
    assert _signed_in_as(client) is None
    assert "Sign in" in client.get("/accounts/login/").content.decode()


def test_wrong_password_is_refused_with_a_sentence(ada: User) -> None:
    page = _sign_in(Client(), password="not the password")

    assert "The email address and/or password you specified are not correct." in page


def test_password_reset_by_the_emailed_link_sets_a_new_password(ada: User) -> None:
    client = Client()
    assert client.post("/accounts/password/reset/", {"email": EMAIL}).status_code == 302
    [message] = mail.outbox
    assert message.to == [EMAIL]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", str(message.body))
    assert link is not None

    # The link moves its key into the session and redirects to a page without it in the address.
    form_page = client.get(link.group(1))
    assert form_page.status_code == 302
    done = client.post(form_page["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert done.status_code == 302
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)
    assert "not correct" in _sign_in(Client(), password=PASSWORD)
    assert _sign_in(Client(), password=NEW_PASSWORD) == "/"


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same() -> None:
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.org"})

    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    assert mail.outbox == []


def test_a_mail_server_that_refuses_connections_does_not_break_the_reset_page(ada: User, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 9, False

    response = Client().post("/accounts/password/reset/", {"email": EMAIL})

    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"


def test_failed_sign_ins_are_limited_per_address_even_with_the_right_password(ada: User, settings) -> None:
    limit = settings.ACCOUNT_LOGIN_FAILED_LIMIT
    User.objects.create_user(username="bob", email="bob@example.org", password=PASSWORD)
    client = Client()
    for _ in range(limit):
        assert "not correct" in _sign_in(client, password="a wrong guess")

    refused = _sign_in(client, password=PASSWORD)

    assert "Too many failed sign-ins to this account." in refused
    assert _signed_in_as(client) is None
    # The count is per address: another account is not locked out by someone guessing this one.
    assert _sign_in(Client(), email="bob@example.org") == "/"


def test_account_pages_are_the_sites_pages_without_inline_scripts_or_styles() -> None:
    client = Client()
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        page = client.get(path).content.decode()
        assert '<html lang="en">' in page and 'class="site-header"' in page and "<main" in page, path
        assert "style=" not in page, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        for field_id in re.findall(r'<input[^>]*type="(?:email|password|text)"[^>]*id="([^"]+)"', page):
            assert f'<label for="{field_id}"' in page, (path, field_id)
