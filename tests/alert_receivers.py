"""Where the alert tests' messages land: a local Slack-style webhook receiver (http.server in a thread) and an
SNS topic on moto's server with an SQS queue subscribed to it (the queue holds what SNS delivered)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Records every POST (path and JSON body); answers `status` with Slack's body ("ok", or an error text)."""

    def __init__(self, status: int = 200):
        self.status = status
        self.posts: list[dict[str, Any]] = []
        received = self.posts
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path, "content_type": self.headers.get("Content-Type"), "body": json.loads(body)})
                answer = b"ok" if receiver.status == 200 else b"invalid_token"
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def connection(self, path: str = "/services/T000/B000/XXXX") -> str:
        """An Airflow `slackwebhook` connection (AIRFLOW_CONN_<ID> JSON) whose password is this receiver's webhook URL."""
        return json.dumps({"conn_type": "slackwebhook", "password": self.url + path})


def aws_connection(endpoint_url: str, region: str = "us-east-1") -> str:
    """An Airflow `aws` connection to moto's server (AIRFLOW_CONN_<ID> JSON)."""
    return json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                       "extra": {"region_name": region, "endpoint_url": endpoint_url}})


class SnsTopic:
    """A topic on moto's server with an SQS queue subscribed; `messages()` reads what SNS delivered to it."""

    def __init__(self, endpoint_url: str, name: str, region: str = "us-east-1"):
        import boto3

        keys = {"region_name": region, "endpoint_url": endpoint_url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.sns, self.sqs = boto3.client("sns", **keys), boto3.client("sqs", **keys)
        self.arn = self.sns.create_topic(Name=name)["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.arn, Protocol="sqs", Endpoint=queue_arn)

    def messages(self) -> list[dict[str, Any]]:
        """The SNS envelopes delivered so far (Subject, Message, MessageAttributes), oldest first; each read once."""
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return out
            for message in got:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
