"""Failure and freshness alerts by e-mail (standard library smtplib), configured from the
environment (cluster_pipeline/settings.py). The password is used to log in and nowhere else:
it is not part of any message, repr or log line."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from cluster_pipeline import settings
from cluster_pipeline.lib.operations.diagnosis import PUBLISHED_UNCHANGED, diagnose

ERROR_LINES = 8  # of each error, the first lines: enough to see what failed, short enough to read


@dataclass(frozen=True)
class AlertSettings:
    host: str
    port: int
    to: tuple[str, ...]
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)

    @classmethod
    def from_env(cls) -> AlertSettings | None:
        """None when CLUSTER_PIPELINE_ALERT_SMTP or CLUSTER_PIPELINE_ALERT_TO is unset."""
        smtp, to = settings.ALERT_SMTP.value(), settings.ALERT_TO.value()
        if not smtp or not to:
            return None
        host, _, port = smtp.rpartition(":") if ":" in smtp else (smtp, "", "25")
        return cls(
            host,
            int(port),
            tuple(a.strip() for a in to.replace(";", ",").split(",") if a.strip()),
            settings.ALERT_FROM.value(),
            settings.ALERT_USER.value(),
            settings.ALERT_PASSWORD.value(),
        )


NOT_CONFIGURED = (
    "alerts are not configured: set CLUSTER_PIPELINE_ALERT_SMTP (host:port) and "
    "CLUSTER_PIPELINE_ALERT_TO (addresses) to e-mail the people responsible"
)


def first_lines(text: str, n: int = ERROR_LINES) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:n]) + (f"\n... ({len(lines) - n} more lines in the run's log)" if len(lines) > n else "")


def run_url(run_id: str) -> str:
    base = settings.UI_URL.value().rstrip("/")
    return f"{base}/runs/{run_id}" if base else ""


def failure_message(
    sender: str, to: tuple[str, ...], run_id: str, job: str, years: list[str], failures: list[tuple[str, str]]
) -> EmailMessage:
    """Which year, which step (asset or check), the first lines of each error, and where to look."""
    message = EmailMessage()
    what = f"year {', '.join(years)}" if years else "all years"
    message["Subject"] = f"cluster-pipeline: run failed ({what})"
    message["From"], message["To"] = sender, ", ".join(to)
    body = [f"A run of the national cluster statistics failed: {what}, job {job}.", ""]
    output = Path(settings.OUTPUT.value())
    for step, error in failures or [("(the run)", "the run failed before any step reported an error")]:
        found = diagnose(error, output)
        body += [f"Failed: {step}", f"Why: {found.why}; {PUBLISHED_UNCHANGED}.", f"To do: {found.to_do}.", ""]
        body += [first_lines(error), ""]
    body += [f"Run id: {run_id}"]
    if url := run_url(run_id):
        body += [f"In the UI: {url}"]
    body += ["", "What to do: docs/operations.md, section 'Runbook'."]
    message.set_content("\n".join(body))
    return message


def freshness_message(sender: str, to: tuple[str, ...], year: int, stale: dict[str, str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"cluster-pipeline: {year}'s published tables are stale"
    message["From"], message["To"] = sender, ", ".join(to)
    lines = [f"The landing folder of {year} exists, but these published tables of {year} are not fresh:", ""]
    lines += [f"- {table}: {why}" for table, why in stale.items()]
    lines += ["", "What to do: docs/operations.md, section 'Runbook' (re-run the year)."]
    message.set_content("\n".join(lines))
    return message


def send(alert: AlertSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(alert.host, alert.port, timeout=30) as smtp:
        if alert.password:
            smtp.starttls()
            smtp.login(alert.user or alert.sender, alert.password)
        smtp.send_message(message)
