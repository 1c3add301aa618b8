"""allauth's account adapter with the site's own wording and mail that cannot fail a page
(settings.ACCOUNT_ADAPTER)."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter

logger = logging.getLogger(__name__)

TOO_MANY_FAILED_SIGN_INS = (
    "Too many failed sign-ins to this account. Wait a few minutes and try again, or reset your password."
)


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": TOO_MANY_FAILED_SIGN_INS,
    }

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # A mail server that is down or refuses the message must not turn a sign-up or a reset into an
        # error page (nor tell a visitor which addresses exist): the page goes on as if sent, the
        # operator learns from the log, and the person can ask again.
        try:
            super().send_mail(template_prefix, email, context)
        except (smtplib.SMTPException, OSError):
            logger.exception("could not send the %s mail", template_prefix.rsplit("/", 1)[-1])
