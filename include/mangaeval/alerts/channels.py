"""Where alerts go, from settings that name Airflow connections. Pure: reads a mapping of settings.

    MANGAEVAL_ALERT_SNS_TOPIC_ARN   the SNS topic (arn:aws:sns:<region>:<account>:<name>); SNS is on when set
    MANGAEVAL_ALERT_SNS_CONN_ID     the AWS connection publishing to it (default: MANGAEVAL_AWS_CONN_ID, else aws_default)
    MANGAEVAL_ALERT_SLACK_CONN_ID   a Slack incoming-webhook connection (type slackwebhook; the webhook URL, or its
                                    token, in the password field); Slack is on when set

Nothing set: no channel (the alerts are only logged). A half-done or malformed setting is a problem with a
message saying which setting and what to do; that channel is then off, the others still send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

SNS_TOPIC = "MANGAEVAL_ALERT_SNS_TOPIC_ARN"
SNS_CONN = "MANGAEVAL_ALERT_SNS_CONN_ID"
SLACK_CONN = "MANGAEVAL_ALERT_SLACK_CONN_ID"
# arn:<partition>:sns:<region>:<12-digit account>:<topic>: 1-256 letters, digits, - and _ (a FIFO topic ends in .fifo)
_TOPIC_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_-]{1,251}(?:\.fifo)?|[A-Za-z0-9_-]{1,256})$")


@dataclass(frozen=True)
class Channel:
    kind: str  # "sns" | "slack"
    conn_id: str
    setting: str  # the setting that named the connection (for messages)
    topic_arn: str | None = None
    region: str | None = None  # from the topic ARN: publish where the topic is

    def describe(self) -> str:
        return f"SNS topic {self.topic_arn} (connection {self.conn_id!r})" if self.kind == "sns" else f"Slack webhook (connection {self.conn_id!r})"


def topic_problem(arn: str) -> str | None:
    if _TOPIC_ARN.match(arn):
        return None
    return (f"{SNS_TOPIC}={arn!r} is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account id>:<topic name>, e.g. "
            "arn:aws:sns:us-east-1:123456789012:mangaeval-alerts): SNS alerts are off until it is fixed")


def configured_channels(settings: Mapping[str, str]) -> tuple[list[Channel], list[str]]:
    """(channels to send to, problems with the settings)."""
    channels, problems = [], []
    topic = (settings.get(SNS_TOPIC) or "").strip()
    sns_conn = (settings.get(SNS_CONN) or "").strip()
    if topic:
        problem = topic_problem(topic)
        if problem:
            problems.append(problem)
        else:
            conn_id = sns_conn or (settings.get("MANGAEVAL_AWS_CONN_ID") or "").strip() or "aws_default"
            channels.append(Channel("sns", conn_id, SNS_CONN if sns_conn else "MANGAEVAL_AWS_CONN_ID (default aws_default)", topic,
                                    _TOPIC_ARN.match(topic).group(1)))
    elif sns_conn:
        problems.append(f"{SNS_CONN}={sns_conn!r} is set but {SNS_TOPIC} is not: SNS alerts are off (set the topic ARN, or unset "
                        f"{SNS_CONN})")
    slack_conn = (settings.get(SLACK_CONN) or "").strip()
    if slack_conn:
        channels.append(Channel("slack", slack_conn, SLACK_CONN))
    return channels, problems


def nothing_configured_message() -> str:
    return (f"alerts: no channel configured ({SNS_TOPIC} [+ {SNS_CONN}], {SLACK_CONN}): alerts are written to this log only")
