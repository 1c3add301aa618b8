"""allauth's account adapter with the site's own wording and mail that cannot fail a page
(settings.ACCOUNT_ADAPTER)."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.client_ip import request_client_ip

logger = logging.getLogger(__name__)

TOO_MANY_FAILED_SIGN_INS = (
    "Too many failed sign-ins to this account. Wait a few minutes and try again, or reset your password."
)


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": TOO_MANY_FAILED_SIGN_INS,
    }

    def get_client_ip(self, request: HttpRequest) -> str:
        # The site's one rule (ARENA_TRUSTED_PROXIES), for the sign-in limits per address too.
        address = request_client_ip(request=request)
        if not address:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # A mail server that is down or refuses the message must not turn a sign-up or a reset into an
        # error page (nor tell a visitor which addresses exist): the page goes on as if sent, the
        # operator learns from the log, and the person can ask again.
        try:
            super().send_mail(template_prefix, email, context)
        except (smtplib.SMTPException, OSError):
            logger.exception("could not send the %s mail", template_prefix.rsplit("/", 1)[-1])
