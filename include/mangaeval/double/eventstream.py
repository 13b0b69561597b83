"""Encoder for the AWS event stream framing that ConverseStream responses use.

Frame: total length, headers length, prelude CRC32, headers, payload, message CRC32 (all big-endian).
botocore's decoder (botocore.eventstream) parses what this writes.
"""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any

_STRING_TYPE = 7


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        name_b, value_b = name.encode(), value.encode()
        out += struct.pack("!B", len(name_b)) + name_b + struct.pack("!BH", _STRING_TYPE, len(value_b)) + value_b
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    header_bytes = _headers(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + header_bytes + payload
    return body + struct.pack("!I", binascii.crc32(body) & 0xFFFFFFFF)


def encode_event(event_type: str, payload: dict[str, Any]) -> bytes:
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        json.dumps(payload, ensure_ascii=False).encode(),
    )


def encode_exception(exception_type: str, message: str) -> bytes:
    return encode_message(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
        json.dumps({"message": message}).encode(),
    )
