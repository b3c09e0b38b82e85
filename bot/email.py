"""Email through SMTP, only outbound: case files to partner agencies reached by email. A row's
text is the mail's body (its first sentence the subject), its document the attachment."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import SmtpSettings
from bot.delivery import DeliveryError, Health, Sent
from handlers.conversation.turn import Services
from storage.models import Channel, Outbox

SUBJECT_MAX = 150


def subject(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    first = first.split(". ", 1)[0].rstrip(".")
    return first if len(first) <= SUBJECT_MAX else first[: SUBJECT_MAX - 1] + "…"


class EmailChannel:
    """Sends outbox rows of the email channel through the configured SMTP server."""

    channel = Channel.EMAIL

    def __init__(self, services: Services, settings: SmtpSettings) -> None:
        self.services = services
        self.settings = settings
        self.health = Health("Email (SMTP)")

    def message(self, row: Outbox, attachment: bytes | None) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = row.address
        mail["Subject"] = subject(row.text)
        mail["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2])
        mail.set_content(row.text)
        if attachment is not None:
            mail.add_attachment(
                attachment,
                maintype="application",
                subtype="pdf",
                filename=row.document_name or "document.pdf",
            )
        return mail

    async def deliver(self, row: Outbox) -> Sent:
        attachment = None
        if row.document_sha256 is not None:
            attachment = await self.services.media.read(row.document_sha256)
        mail = self.message(row, attachment)
        try:
            await asyncio.to_thread(self._send, mail)
        except (smtplib.SMTPException, OSError) as error:
            failure = classify(error)
            self.health.failed(failure.message)
            raise failure from None
        self.health.ok()
        return Sent(provider_id=str(mail["Message-ID"]).strip("<>")[:64])

    def _send(self, mail: EmailMessage) -> None:
        settings = self.settings
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(mail)

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Outbox, Sent]], at: datetime
    ) -> None:
        """Nothing: a mailbox keeps no state of ours."""


def classify(error: smtplib.SMTPException | OSError) -> DeliveryError:
    """A 5xx answer (an address refused, a message rejected) will not change; a 4xx, a lost
    connection, a time-out may pass. A login refused is retried: the password may be fixed."""
    message = str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return DeliveryError("recipient_refused", message, permanent=permanent)
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(
        error, smtplib.SMTPAuthenticationError
    ):
        return DeliveryError(f"smtp_{error.smtp_code}", message, permanent=error.smtp_code >= 500)
    return DeliveryError("transient", message, permanent=False)
