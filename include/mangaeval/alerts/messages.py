"""What an alert says, as data, and how each channel shows it. Pure: no I/O, no Airflow.

An alert has three parts, each a list of short lines: what happened, where to look (labelled: the DAG, run,
task, log, dashboard page, routing document...) and what to do. SNS gets a subject (ASCII, one line, under
100 characters, as SNS requires) and a plain-text body; Slack gets Block Kit sections with a plain-text
fallback. Long lists are cut (a gate can fail hundreds of expectations): the log has the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

EVENTS = ("gate_failed", "route_flagged", "routing_changed", "ab_proposal", "canary_rollback", "benchmark_regression", "task_failed")
SEVERITIES = ("critical", "warning", "info")
MAX_LINES = 12  # per section; the rest is counted, not shown
MAX_LINE_CHARS = 600
SNS_SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks
SLACK_HEADER_MAX = 150  # Block Kit header text
SLACK_SECTION_MAX = 3000  # Block Kit section text


@dataclass(frozen=True)
class Alert:
    event: str  # one of EVENTS
    severity: str  # one of SEVERITIES
    title: str  # one line: what happened
    happened: tuple[str, ...]
    where: tuple[tuple[str, str], ...]  # (label, value): DAG, run, task, log, dashboard, routing document, ...
    todo: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"alert event {self.event!r}: not one of {EVENTS}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity {self.severity!r}: not one of {SEVERITIES}")

    def where_value(self, label: str) -> str | None:
        return next((value for name, value in self.where if name == label), None)


@dataclass(frozen=True)
class RunRef:
    """The Airflow run and task an alert comes from, and the API server's base URL (dashboards, logs)."""

    dag_id: str
    run_id: str
    task_id: str
    log_url: str | None = None
    base_url: str | None = None

    def places(self) -> list[tuple[str, str]]:
        places = [("DAG", self.dag_id), ("Run", self.run_id), ("Task", self.task_id)]
        return places + ([("Task log", self.log_url)] if self.log_url else [])

    def dashboard(self, page: str, **params: object) -> str:
        """The dashboard page: /mangaeval/<page>?... (a full URL when the API server's base URL is known)."""
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        path = f"/mangaeval/{page}" + (f"?{query}" if query else "")
        return f"{self.base_url.rstrip('/')}{path}" if self.base_url else path


def _short(line: str) -> str:
    line = " ".join(str(line).split())  # one line, whatever the source text held
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def capped(lines: list[str] | tuple[str, ...], limit: int = MAX_LINES, rest: str = "see the task log") -> list[str]:
    """At most `limit` lines; the rest counted in a last line."""
    lines = [_short(line) for line in lines]
    if len(lines) <= limit:
        return lines
    return lines[: limit - 1] + [f"... and {len(lines) - limit + 1} more ({rest})"]


def subject(alert: Alert) -> str:
    """The SNS subject: ASCII, one line, at most 99 characters."""
    text = f"[mangaeval {alert.severity}] {' '.join(alert.title.split())}"
    text = text.encode("ascii", "replace").decode("ascii")
    return text if len(text) <= SNS_SUBJECT_MAX else text[: SNS_SUBJECT_MAX - 3] + "..."


def text(alert: Alert) -> str:
    """The plain-text body (SNS: e-mail, SQS, chat bridges)."""
    parts = [f"[{alert.severity.upper()}] {alert.title}", "", "What happened:"]
    parts += [f"- {line}" for line in capped(alert.happened)]
    parts += ["", "Where to look:"] + [f"- {label}: {value}" for label, value in alert.where]
    parts += ["", "What to do:"] + [f"- {line}" for line in capped(alert.todo)]
    parts += ["", f"(event: {alert.event}; sent by mangaeval)"]
    return "\n".join(parts) + "\n"


def attributes(alert: Alert) -> dict[str, str]:
    """SNS message attributes, so a subscription can filter (e.g. only `critical`, or only `canary_rollback`)."""
    return {"event": alert.event, "severity": alert.severity}


def _mrkdwn(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_value(value: str) -> str:
    if value.startswith(("http://", "https://")) and "|" not in value and " " not in value:
        return f"<{_mrkdwn(value)}>"
    return f"`{_mrkdwn(value)}`"


def _section(heading: str, lines: list[str]) -> dict:
    body = f"*{heading}*\n" + "\n".join(lines)
    if len(body) > SLACK_SECTION_MAX:
        body = body[: SLACK_SECTION_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": body}}


SLACK_MARK = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def slack_payload(alert: Alert) -> dict:
    """An incoming-webhook body: `text` (the notification and fallback) and Block Kit `blocks`."""
    header = f"{alert.severity.upper()}: {' '.join(alert.title.split())}"
    if len(header) > SLACK_HEADER_MAX:
        header = header[: SLACK_HEADER_MAX - 1] + "…"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        _section("What happened", [f"• {_mrkdwn(line)}" for line in capped(alert.happened)]),
        _section("Where to look", [f"• *{_mrkdwn(label)}*: {_slack_value(value)}" for label, value in alert.where]),
        _section("What to do", [f"• {_mrkdwn(line)}" for line in capped(alert.todo)]),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{SLACK_MARK[alert.severity]} mangaeval · {alert.event}"}]},
    ]
    return {"text": f"{SLACK_MARK[alert.severity]} {' '.join(alert.title.split())}", "blocks": blocks}
