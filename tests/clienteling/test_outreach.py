"""Outreach: messages only with consent, on the timeline, sent after the commit (never after a rollback),
through the log provider or a real SMTP conversation."""

# ruff: noqa: F811

from __future__ import annotations

import base64
import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import func, select

import clienteling
from clienteling import Message, NoConsent
from core import db
from core.errors import ValidationError
from core.uow import pending_operations

from .outreach_world import log_provider, make_customer, world  # noqa: F401  (fixtures, used as arguments: F811 off in this file)

EMAIL_OK = {"email_marketing": True}


def message_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Message))


def timeline_types(customer) -> list[str]:
    items, _ = clienteling.timeline_page(customer)
    return [item.type for item in items]


def test_an_email_with_consent_is_queued_on_the_timeline_and_sent_after_the_commit(world, make_customer, log_provider):
    customer = make_customer(consents=EMAIL_OK)
    message = clienteling.send_message(customer, "email", "thank_you_visit", world["ana"].actor, "BER-MITTE")
    assert message.status == "queued"
    assert message.subject == "Thank you for visiting Berlin Mitte"
    assert message.body.startswith("Hi Zoë,\n\nthank you for coming in to Berlin Mitte.")
    assert message.body.endswith("Ana, Berlin Mitte")
    assert list(log_provider.sent) == [], "nothing leaves before the commit"
    assert pending_operations() == 1
    db.session.commit()

    assert [(m["channel"], m["to"], m["subject"]) for m in log_provider.sent] == [("email", "zoe@example.com", "Thank you for visiting Berlin Mitte")]
    db.session.expire_all()
    stored = clienteling.find_message(message.public_id)
    assert stored.status == "sent" and stored.sent_at is not None and stored.provider_id == log_provider.sent[0]["id"]
    entries, _ = clienteling.timeline_page(customer, type="message_sent")
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.channel, entry.staff_id, entry.actor_kind, entry.actor_id) == ("email", world["ana"].id, "staff", world["ana"].id)
    assert entry.data == {
        "message_id": message.public_id,
        "channel": "email",
        "template": "thank_you_visit",
        "subject": "Thank you for visiting Berlin Mitte",
    }


def test_a_withdrawn_email_consent_refuses_with_409_no_consent_and_sends_nothing(world, make_customer, log_provider):
    customer = make_customer(consents=EMAIL_OK)
    clienteling.record_consent(customer, "email_marketing", False, "email", world["ana"].actor)  # unsubscribed
    db.session.commit()
    with pytest.raises(NoConsent) as refused:
        clienteling.send_message(customer, "email", "new_arrivals_in_size", world["ana"].actor, "BER-MITTE")
    assert refused.value.code == "no_consent"
    assert refused.value.details == {"channel": "email", "purpose": "email_marketing", "reason": "not_granted"}
    db.session.commit()
    assert message_count() == 0 and "message_sent" not in timeline_types(customer) and list(log_provider.sent) == []


def test_sms_needs_sms_consent_even_with_email_consent(world, make_customer, log_provider):
    customer = make_customer(consents=EMAIL_OK)
    with pytest.raises(NoConsent) as refused:
        clienteling.send_message(customer, "sms", "new_arrivals_in_size", world["ana"].actor, "BER-MITTE")
    assert refused.value.details["purpose"] == "sms_marketing"
    clienteling.record_consent(customer, "sms_marketing", True, "store", world["ana"].actor)
    message = clienteling.send_message(customer, "sms", "new_arrivals_in_size", world["ana"].actor, "BER-MITTE")
    db.session.commit()
    assert message.subject == "" and message.to_address == "+4917612345678"
    assert [(m["channel"], m["to"]) for m in log_provider.sent] == [("sms", "+4917612345678")]
    assert log_provider.sent[0]["body"] == "Hi Zoë, new arrivals in your size at Berlin Mitte. Want me to set some aside? Ana"


def test_consent_without_an_address_is_refused_as_no_address(world, make_customer, log_provider):
    customer = make_customer(phone=None, consents={"sms_marketing": True})
    with pytest.raises(NoConsent) as refused:
        clienteling.send_message(customer, "sms", "thank_you_visit", world["ana"].actor, "BER-MITTE")
    assert refused.value.details["reason"] == "no_address"


def test_a_rolled_back_transaction_sends_nothing_and_keeps_no_message(world, make_customer, log_provider):
    customer = make_customer(consents=EMAIL_OK)
    clienteling.send_message(customer, "email", "thank_you_visit", world["ana"].actor, "BER-MITTE")
    db.session.rollback()  # the request failed after the send was decided
    db.session.commit()
    assert list(log_provider.sent) == []
    assert message_count() == 0 and "message_sent" not in timeline_types(customer)


def test_placeholders_fill_and_a_typed_body_is_never_a_format_string(world, make_customer, log_provider):
    customer = make_customer(consents=EMAIL_OK)
    with pytest.raises(ValidationError) as missing:
        clienteling.send_message(customer, "email", "wishlist_back_in_stock", world["ana"].actor, "BER-MITTE")
    assert missing.value.details == {"context.product": ["the template wishlist_back_in_stock needs a product"]}
    message = clienteling.send_message(
        customer,
        "email",
        "wishlist_back_in_stock",
        world["ana"].actor,
        "BER-MITTE",
        context={"product": "Trail Jacket (JKT-M)"},
        body="Hi {first_name}, {product} is here. {first_name.__class__} {0} {store!r}",
    )
    assert message.subject == "Trail Jacket (JKT-M) is back at Berlin Mitte"
    assert message.body == "Hi Zoë, Trail Jacket (JKT-M) is here. {first_name.__class__} {0} {store!r}"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"template_key": "nope"}, "template"),
        ({"store_code": "NOWHERE"}, "store"),
        ({"subject": "two\nlines"}, "subject"),
        ({"body": "x" * 5001}, "body"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(world, make_customer, log_provider, kwargs, field):
    customer = make_customer(consents=EMAIL_OK)
    arguments = {"channel": "email", "template_key": "thank_you_visit", "actor": world["ana"].actor, "store_code": "BER-MITTE", **kwargs}
    with pytest.raises(ValidationError) as refused:
        clienteling.send_message(customer, **arguments)
    assert field in refused.value.details
    db.session.rollback()
    assert message_count() == 0


def test_a_provider_failure_marks_the_message_failed_with_the_reason(world, make_customer, log_provider):
    customer = make_customer(consents={"sms_marketing": True})
    previous = clienteling.messaging.settings["provider"]
    clienteling.messaging.settings["provider"] = clienteling.SmtpProvider("127.0.0.1", 1, sender="shop@example.com")
    try:
        message = clienteling.send_message(customer, "sms", "thank_you_visit", world["ana"].actor, "BER-MITTE")
        db.session.commit()
    finally:
        clienteling.messaging.settings["provider"] = previous
    db.session.expire_all()
    stored = clienteling.find_message(message.public_id)
    assert stored.status == "failed" and "no SMS gateway" in stored.error


# --- a real SMTP conversation -------------------------------------------------------------------


class TinySmtpServer:
    """Just enough of an SMTP server (RFC 5321) on 127.0.0.1 to receive messages: EHLO, AUTH PLAIN,
    MAIL, RCPT, DATA, QUIT.  Each conversation's commands and the received message are kept."""

    def __init__(self, offer_auth=True):
        self.offer_auth = offer_auth
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.commands: list[str] = []
        self.messages: list[dict] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:
                self._talk(conn, reader)

    def _talk(self, conn, reader):
        def say(line):
            conn.sendall(line.encode() + b"\r\n")

        say("220 tiny.test ESMTP ready")
        envelope = {"from": None, "to": [], "auth": None}
        while True:
            raw = reader.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            self.commands.append(verb)
            if verb == "EHLO":
                say("250-tiny.test")
                if self.offer_auth:
                    say("250-AUTH PLAIN")
                say("250 8BITMIME")
            elif verb == "AUTH":
                _authzid, user, password = base64.b64decode(line.split()[2]).split(b"\0")  # AUTH PLAIN <b64 of authzid\0user\0password>
                envelope["auth"] = (user.decode(), password.decode())
                say("235 2.7.0 authenticated")
            elif verb == "MAIL":
                envelope["from"] = line.split(":", 1)[1].split()[0].strip("<>")
                say("250 ok")
            elif verb == "RCPT":
                envelope["to"].append(line.split(":", 1)[1].strip().strip("<>"))
                say("250 ok")
            elif verb == "DATA":
                say("354 end with <CRLF>.<CRLF>")
                data = b""
                while True:
                    chunk = reader.readline()
                    if chunk in (b".\r\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.messages.append({**envelope, "message": message_from_bytes(data, policy=default_policy)})
                say("250 2.0.0 queued")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("502 not implemented")

    def close(self):
        self.sock.close()


@pytest.fixture
def smtp_server():
    server = TinySmtpServer()
    yield server
    server.close()


def test_the_smtp_provider_delivers_a_real_smtp_conversation_with_login(smtp_server):
    provider = clienteling.SmtpProvider(
        "127.0.0.1", smtp_server.port, user="shop", password="s3cret", sender="Shelfside <shop@example.com>", starttls=False
    )
    message_id = provider.send_email("zoe@example.com", "Thank you for visiting Berlin Mitte", "Hi Zoë,\n.\nsee you soon")
    received = smtp_server.messages[0]
    assert smtp_server.commands[:3] == ["EHLO", "AUTH", "MAIL"] and "QUIT" in smtp_server.commands
    assert received["auth"] == ("shop", "s3cret")
    assert received["from"] == "shop@example.com" and received["to"] == ["zoe@example.com"]
    email = received["message"]
    assert email["Subject"] == "Thank you for visiting Berlin Mitte"
    assert email["Message-ID"] == message_id
    assert email.get_content().replace("\r\n", "\n") == "Hi Zoë,\n.\nsee you soon\n", "a line with a lone dot survives (dot-stuffing), non-ASCII too"


def test_starttls_required_but_not_offered_fails_instead_of_sending_in_clear(smtp_server):
    provider = clienteling.SmtpProvider("127.0.0.1", smtp_server.port, sender="shop@example.com", starttls=True)
    with pytest.raises(clienteling.ProviderError, match="STARTTLS"):
        provider.send_email("zoe@example.com", "Hi", "text")
    assert smtp_server.messages == []


def test_send_message_through_smtp_after_commit_marks_it_sent(world, make_customer, smtp_server):
    customer = make_customer(consents=EMAIL_OK)
    previous = clienteling.messaging.settings["provider"]
    clienteling.configure_messaging(
        {"MESSAGE_PROVIDER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "SMTP_FROM": "shop@example.com", "SMTP_STARTTLS": False}
    )
    try:
        message = clienteling.send_message(customer, "email", "appointment_reminder", world["max"].actor, "BER-MITTE")
        assert smtp_server.messages == []
        db.session.commit()
    finally:
        clienteling.messaging.settings["provider"] = previous
    assert [m["message"]["Subject"] for m in smtp_server.messages] == ["See you soon at Berlin Mitte"]
    assert "Max, Berlin Mitte" in smtp_server.messages[0]["message"].get_content()
    db.session.expire_all()
    assert clienteling.find_message(message.public_id).status == "sent"


def test_smtp_configuration_without_a_host_is_refused():
    with pytest.raises(ValueError, match="SMTP_HOST"):
        clienteling.configure_messaging({"MESSAGE_PROVIDER": "smtp"})
    with pytest.raises(ValueError, match="log or smtp"):
        clienteling.configure_messaging({"MESSAGE_PROVIDER": "pigeon"})
