"""Stored secrets: Fernet tokens under ARENA_SECRETS_KEYS, never shown in reprs, logs or errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.workers.test_public_endpoints import LocalServer, local_server_running, plain_answer
from workers.adapters.base import AdapterError, GenerationParams, GenerationStats, Message, TextPart
from workers.adapters.openai_http import OpenAIHttpAdapter
from workers.adapters.settings import OpenAISettings
from workers.secrets import SecretError, secret_decrypt, secret_encrypt, secret_rotate, secrets_keys_check

API_KEY = "sk-test-3f9c2a7d1e"


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    with local_server_running() as server:
        yield server


@pytest.fixture
def one_key(settings: Any) -> str:
    key = Fernet.generate_key().decode()
    settings.ARENA_SECRETS_KEYS = [key]
    return key


def test_a_secret_comes_back_from_its_token_and_the_token_does_not_show_it(one_key: str) -> None:
    token = secret_encrypt(plaintext=API_KEY)

    assert API_KEY not in token
    assert secret_decrypt(ciphertext=token) == API_KEY


def test_an_old_key_still_decrypts_after_a_new_one_is_put_first(settings: Any, one_key: str) -> None:
    old_token = secret_encrypt(plaintext=API_KEY)
    new_key = Fernet.generate_key().decode()
    settings.ARENA_SECRETS_KEYS = [new_key, one_key]

    assert secret_decrypt(ciphertext=old_token) == API_KEY
    rotated = secret_rotate(ciphertext=old_token)
    settings.ARENA_SECRETS_KEYS = [new_key]
    assert secret_decrypt(ciphertext=rotated) == API_KEY
    with pytest.raises(SecretError):
        secret_decrypt(ciphertext=old_token)


def test_tests_without_a_key_use_one_derived_from_the_secret_key(settings: Any) -> None:
    settings.ARENA_SECRETS_KEYS = []

    token = secret_encrypt(plaintext=API_KEY)

    assert secret_decrypt(ciphertext=token) == API_KEY
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(SecretError):
        secret_decrypt(ciphertext=token)  # derived from the secret key, so another key cannot read it


def test_a_token_from_another_key_fails_with_a_sentence_that_shows_neither(
    settings: Any, one_key: str
) -> None:
    foreign = Fernet(Fernet.generate_key()).encrypt(API_KEY.encode()).decode()

    with pytest.raises(SecretError) as failed:
        secret_decrypt(ciphertext=foreign)

    message = str(failed.value)
    assert message.startswith("A stored API key could not be decrypted")
    assert foreign not in message and one_key not in message and API_KEY not in message
    assert failed.value.__cause__ is None


def test_a_malformed_configured_key_is_named_by_position_not_shown(settings: Any) -> None:
    settings.ARENA_SECRETS_KEYS = [Fernet.generate_key().decode(), "not-a-fernet-key"]

    with pytest.raises(SecretError, match="Key 2 of ARENA_SECRETS_KEYS is not a Fernet key") as failed:
        secret_encrypt(plaintext=API_KEY)
    assert "not-a-fernet-key" not in str(failed.value)


def test_production_without_keys_refuses_to_encrypt() -> None:
    """Out of pytest and with debug off, as a production worker runs."""
    code = (
        "import django; django.setup()\n"
        "from workers.secrets import SecretError, secret_encrypt\n"
        "try:\n    secret_encrypt(plaintext='x')\n"
        "except SecretError as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "0"}
    env.pop("ARENA_SECRETS_KEYS", None)

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)

    assert "ARENA_SECRETS_KEYS is not set on this server" in result.stdout, result.stderr[-2000:]


def test_the_deploy_check_wants_keys_in_production(settings: Any) -> None:
    settings.DEBUG = False
    settings.ARENA_SECRETS_KEYS = []
    assert [message.id for message in secrets_keys_check()] == ["workers.E001"]

    settings.ARENA_SECRETS_KEYS = ["bad"]
    assert [message.id for message in secrets_keys_check()] == ["workers.E002"]

    settings.ARENA_SECRETS_KEYS = [Fernet.generate_key().decode()]
    assert secrets_keys_check() == []


def test_the_encrypted_key_is_sent_as_bearer_and_never_logged_or_shown(
    one_key: str,
    local_server: LocalServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = secret_encrypt(plaintext=API_KEY)
    settings = OpenAISettings(
        base_url=local_server.base_url, model="m", api_key_encrypted=token, max_retries=0
    )
    adapter = OpenAIHttpAdapter(settings=settings)
    caplog.set_level(logging.DEBUG)  # httpx and httpcore trace every request and header write at DEBUG

    chunks = list(
        adapter.stream(
            [Message(role="user", content=(TextPart("Hi"),))],
            GenerationParams(max_new_tokens=4),
            stats=GenerationStats(),
        )
    )
    local_server.respond = plain_answer(b'{"error": {"message": "Quota exceeded"}}', status=429)
    with pytest.raises(AdapterError) as failed:
        list(
            adapter.stream(
                [Message(role="user", content=(TextPart("Hi"),))], GenerationParams(), stats=GenerationStats()
            )
        )
    adapter.close()

    assert "".join(chunks) == "hello"
    assert local_server.received[0].headers["Authorization"] == f"Bearer {API_KEY}"
    assert "Quota exceeded" in str(failed.value)
    for shown in (caplog.text, repr(settings), repr(adapter.settings), str(failed.value)):
        assert API_KEY not in shown and token not in shown


def test_an_undecryptable_stored_key_fails_before_any_request(
    one_key: str,
    local_server: LocalServer,
) -> None:
    foreign = Fernet(Fernet.generate_key()).encrypt(API_KEY.encode()).decode()
    adapter = OpenAIHttpAdapter(
        settings=OpenAISettings(base_url=local_server.base_url, model="m", api_key_encrypted=foreign)
    )

    with pytest.raises(SecretError) as failed:
        adapter.stream(
            [Message(role="user", content=(TextPart("Hi"),))], GenerationParams(), stats=GenerationStats()
        )
    adapter.close()

    assert local_server.received == []
    assert foreign not in str(failed.value)
