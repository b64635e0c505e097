"""Alert channels: email over SMTP and a JSON webhook. Their secrets never leave this module.

- `MARGINDASH_SMTP_URL`: `smtp://user:pass@host:587` speaks STARTTLS (always when the server offers
  it, and a password is never sent without it); `smtps://user:pass@host:465` is implicit TLS. Ports
  default to 587 and 465; user and password are percent-decoded (`%40` for `@`). Certificates are
  verified against the system's CAs (`SSL_CERT_FILE` names another bundle).
- `MARGINDASH_ALERT_FROM`: the From address (default: the SMTP user, when it is an address).
- Errors name the mail server as `scheme://host:port` and a webhook by its host only: the SMTP
  password and the webhook URL (whose path is the secret of a Slack-style hook) never appear in a
  message, in the output or in the store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from margindash_cli.errors import MarginDashError, UsageError

SMTP_URL_ENV = "MARGINDASH_SMTP_URL"  # where alert emails go
ALERT_FROM_ENV = "MARGINDASH_ALERT_FROM"  # who they come from
SEND_TIMEOUT_S = 15  # per connection attempt and per network read: a dead server fails this alert, not the run
# The whole send, however a server trickles its bytes (#22): well inside budgeting.CLAIM_STALE_MS (10 minutes), so a
# send is over, one way or the other, before another run may take its claim and send it again.
SEND_DEADLINE_S = 60.0


class AlertError(MarginDashError):
    """An alert could not be delivered. Its message is already redacted."""


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str  # smtp (STARTTLS) | smtps (implicit TLS)
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str

    @property
    def display(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def __repr__(self) -> str:  # never the password, even in a traceback
        return f"SmtpConfig({self.display}, user={self.user!r}, sender={self.sender!r})"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SmtpConfig | None:
        """The SMTP settings from the environment; None when MARGINDASH_SMTP_URL is not set."""
        env = dict(os.environ) if env is None else env
        url = env.get(SMTP_URL_ENV, "").strip()
        if not url:
            return None
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise AlertError(
                f"{SMTP_URL_ENV} is not a valid URL", "use smtp://user:pass@host:587 or smtps://user:pass@host:465"
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps") or not parts.hostname:
            raise AlertError(
                f"{SMTP_URL_ENV} must be smtp://... or smtps://... with a host",
                "e.g. smtp://user:pass@smtp.example.com:587",
            )
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        sender = env.get(ALERT_FROM_ENV, "").strip() or (user if user and "@" in user else "")
        if not sender:
            raise AlertError(
                f"{ALERT_FROM_ENV} is not set", "set it to the address alerts come from, e.g. margindash@example.com"
            )
        return cls(scheme, parts.hostname, port or (465 if scheme == "smtps" else 587), user, password, sender)


def redact(text: str, secrets: list[str | None]) -> str:
    """The text with every secret replaced by ***: a last line of defence behind messages we write ourselves."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _past_deadline(where: str) -> AlertError:
    return AlertError(
        f"{where}: no complete answer within the total deadline of {SEND_DEADLINE_S:g} s (a stalled or"
        " trickling server); the connection was closed",
        "the alert is retried on the next run",
    )


def send_email(config: SmtpConfig, recipients: list[str], subject: str, text: str, message_id: str) -> list[str]:
    """Send one plain-text email to all recipients. Returns the recipients the server refused (the others got it).

    Raises AlertError (redacted) when nobody got it, or when the send passed SEND_DEADLINE_S in all.
    """
    from margindash_cli.clients.deadline import Deadline  # lazy: start-up

    with Deadline(SEND_DEADLINE_S) as deadline:
        try:
            return _send_email(config, recipients, subject, text, message_id, deadline)
        except AlertError:
            if deadline.expired:
                raise _past_deadline(f"email via {config.display}") from None
            raise


def _send_email(
    config: SmtpConfig, recipients: list[str], subject: str, text: str, message_id: str, deadline: Any
) -> list[str]:
    import smtplib  # lazy: start-up
    import ssl  # lazy: start-up
    from email.message import EmailMessage  # lazy: start-up
    from email.utils import formatdate  # lazy: start-up

    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to an alert
    msg.set_content(text)
    where = f"email via {config.display}"
    secrets = [config.password, quote(config.password or "", safe="")]
    try:
        from margindash_cli.clients.deadline import deadline_smtp  # lazy: start-up

        context = ssl.create_default_context()
        if config.scheme == "smtps":
            client = deadline_smtp(deadline, True, timeout=SEND_TIMEOUT_S, context=context)
        else:
            client = deadline_smtp(deadline, False, timeout=SEND_TIMEOUT_S)
        client._host = config.host  # what STARTTLS checks the certificate against (smtplib sets it only in __init__)
        client.connect(config.host, config.port)
        with client:
            if config.scheme == "smtp":
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif config.password is not None:
                    raise AlertError(
                        f"{where}: the server does not offer STARTTLS; the password was not sent in clear",
                        "use smtps:// (implicit TLS), or a server that supports STARTTLS",
                    )
            if config.user is not None:
                client.login(config.user, config.password or "")
            refused = client.send_message(msg, from_addr=config.sender, to_addrs=recipients)
    except AlertError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise AlertError(
            f"{where}: authentication failed ({exc.smtp_code})", "check the user and password in MARGINDASH_SMTP_URL"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise AlertError(f"{where}: every recipient was refused ({', '.join(sorted(exc.recipients))})") from None
    except smtplib.SMTPResponseException as exc:
        message = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        )
        raise AlertError(redact(f"{where}: the server answered {exc.smtp_code} {message}", secrets)) from None
    except smtplib.SMTPException as exc:
        raise AlertError(redact(f"{where}: {type(exc).__name__}: {exc}", secrets)) from None
    except ssl.SSLError as exc:
        raise AlertError(redact(f"{where}: TLS failed ({exc.reason or type(exc).__name__})", secrets)) from None
    except OSError as exc:
        reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else type(exc).__name__)
        raise AlertError(
            redact(f"{where}: cannot connect ({reason})", secrets),
            "is the mail server up? the alert is retried on the next run",
        ) from None
    return sorted(refused)


def webhook_host(url: str) -> str:
    """How errors name a webhook: its host only (the path of a Slack-style hook is its secret)."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def check_webhook_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError("--webhook must be an http:// or https:// URL (it is not shown: a webhook URL is a secret)")


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """POST the payload as JSON; anything but a 2xx answer is an AlertError (redacted)."""
    import httpx  # lazy: start-up
    import orjson  # lazy: start-up

    from margindash_cli.clients.deadline import Deadline, http_transport  # lazy: start-up

    where = f"webhook to {webhook_host(url)}"
    with Deadline(SEND_DEADLINE_S) as deadline:
        try:
            with httpx.Client(
                transport=http_transport(deadline), timeout=SEND_TIMEOUT_S, follow_redirects=False
            ) as client:
                response = client.post(url, content=orjson.dumps(payload), headers={"Content-Type": "application/json"})
        except httpx.TimeoutException:
            raise (_past_deadline(where) if deadline.expired else AlertError(f"{where}: timed out")) from None
        except httpx.HTTPError as exc:
            if deadline.expired:
                raise _past_deadline(where) from None
            path = urlsplit(url).path
            raise AlertError(
                redact(f"{where}: {exc or type(exc).__name__}", [url, path if len(path) > 1 else None])
            ) from None
    if not 200 <= response.status_code < 300:
        raise AlertError(f"{where}: HTTP {response.status_code}")
