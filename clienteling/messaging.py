"""How an email or an SMS leaves: a provider interface with a development and a production
implementation, chosen by the composition root from its configuration (``configure_provider``).

* ``LogProvider`` (the embedded default): writes each message to the ``shelfside.messages`` log
  and keeps the last ones in memory (``sent``), so development shows what would have gone out and
  tests can read it.  Nothing leaves the machine.
* ``SmtpProvider``: email through an SMTP server (``smtplib``, STARTTLS optional, login
  optional).  It has no SMS gateway: ``send_sms`` raises ``ProviderUnavailable``, so an SMS is
  recorded as failed instead of pretending to be sent.

Domain code asks ``provider()`` for the configured one; it never constructs a provider itself.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections import deque
from email.message import EmailMessage
from email.utils import make_msgid

log = logging.getLogger("shelfside.messages")


class ProviderError(Exception):
    """The provider could not send the message (the text says why)."""


class ProviderUnavailable(ProviderError):
    """This provider cannot send on that channel at all."""


class MessageProvider:
    """Sends one message; answers the provider's id for it (or None).  Raises ProviderError when
    the message was not accepted."""

    name = "abstract"

    def send_email(self, to: str, subject: str, body: str) -> str | None:
        raise NotImplementedError

    def send_sms(self, to: str, body: str) -> str | None:
        raise NotImplementedError


class LogProvider(MessageProvider):
    """Development: the message goes to the log and to ``sent`` (the newest ``keep``), nowhere else."""

    name = "log"

    def __init__(self, keep: int = 100):
        self.sent: deque[dict] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._count = 0

    def _keep(self, record: dict) -> str:
        with self._lock:
            self._count += 1
            record["id"] = f"log-{self._count}"
            self.sent.append(record)
        return record["id"]

    def send_email(self, to, subject, body):
        message_id = self._keep({"channel": "email", "to": to, "subject": subject, "body": body})
        log.info("email %s to %s: %s\n%s", message_id, to, subject, body)
        return message_id

    def send_sms(self, to, body):
        message_id = self._keep({"channel": "sms", "to": to, "subject": "", "body": body})
        log.info("sms %s to %s: %s", message_id, to, body)
        return message_id

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()


class SmtpProvider(MessageProvider):
    """Production email through SMTP: one connection per message (STARTTLS when ``starttls``, a
    login when ``user`` is set), a ``timeout`` on every socket operation.  No SMS."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 587,
        user: str | None = None,
        password: str | None = None,
        sender: str = "",
        starttls: bool = True,
        timeout: float = 10.0,
    ):
        if not host:
            raise ValueError("SmtpProvider needs a host (SMTP_HOST)")
        if not sender:
            raise ValueError("SmtpProvider needs a sender address (SMTP_FROM)")
        self.host, self.port, self.user, self.password = host, int(port), user, password
        self.sender, self.starttls, self.timeout = sender, bool(starttls), float(timeout)

    def send_email(self, to, subject, body):
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message_id = make_msgid(domain=self.sender.rpartition("@")[2].strip("> ") or None)
        message["Message-ID"] = message_id
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderError(f"SMTP {self.host}:{self.port}: {exc.__class__.__name__}: {exc}"[:480]) from exc
        if refused:
            raise ProviderError(f"SMTP refused {', '.join(refused)}")
        return message_id

    def send_sms(self, to, body):
        raise ProviderUnavailable("no SMS gateway is configured (the SMTP provider sends email only)")


# the configured provider; the composition root replaces it (configure_provider), tests read it
settings: dict = {"provider": LogProvider()}


def provider() -> MessageProvider:
    return settings["provider"]


def configure_provider(name: str = "log", **smtp) -> MessageProvider:
    """Choose the provider: ``"log"`` (development; the existing log provider is kept, with what it
    holds) or ``"smtp"`` with ``host``, ``port``, ``user``, ``password``, ``sender``, ``starttls``.
    Raises ValueError for an unknown name or an incomplete SMTP setting."""
    if name == "log":
        if not isinstance(settings["provider"], LogProvider):
            settings["provider"] = LogProvider()
    elif name == "smtp":
        settings["provider"] = SmtpProvider(**smtp)
    else:
        raise ValueError(f"MESSAGE_PROVIDER must be log or smtp, not {name!r}")
    return settings["provider"]


def configure_messaging(config) -> MessageProvider:
    """The provider named by a configuration mapping: ``MESSAGE_PROVIDER`` (log | smtp) and, for
    smtp, ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD``, ``SMTP_FROM``,
    ``SMTP_STARTTLS``, ``SMTP_TIMEOUT_SECONDS``.  Raises ValueError saying what to set."""
    name = config.get("MESSAGE_PROVIDER") or "log"
    if name != "smtp":
        return configure_provider(name)
    if not (config.get("SMTP_HOST") and config.get("SMTP_FROM")):
        raise ValueError("MESSAGE_PROVIDER=smtp needs SMTP_HOST and SMTP_FROM (and SMTP_USER/SMTP_PASSWORD when the server wants a login)")
    return configure_provider(
        "smtp",
        host=config["SMTP_HOST"],
        port=config.get("SMTP_PORT") or 587,
        user=config.get("SMTP_USER"),
        password=config.get("SMTP_PASSWORD"),
        sender=config["SMTP_FROM"],
        starttls=config.get("SMTP_STARTTLS", True),
        timeout=config.get("SMTP_TIMEOUT_SECONDS") or 10,
    )
