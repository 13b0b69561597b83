"""The pipeline's view of the routing store: what serves now, and publishing a run's decisions."""

from __future__ import annotations

from typing import Any

from mangaeval.routing.publish import current_document
from mangaeval.objectstore import open_store


def current_routing_document() -> dict[str, Any] | None:
    return current_document(open_store())


def current_routing_map() -> dict[str, str]:
    document = current_routing_document()
    return {intent: route["config_id"] for intent, route in (document or {}).get("routes", {}).items()}
