"""Live traffic per intent: messages a day (include/config/routing_policy.yaml) x each intent's share
(include/config/intents.yaml). What a canary stage or an A/B arm on some intents can actually expect to
receive; the canary's plan and its traffic simulator both read it from here."""

from __future__ import annotations

from mangaeval.errors import MangaEvalError

MINUTES_PER_DAY = 1440


def covered(intents: list[str] | tuple[str, ...] | None) -> list[str]:
    """The intent names a rollout covers: "*" or empty means every intent; an unknown name is an error."""
    from mangaeval.intents import load_intents

    known = list(load_intents())
    names = list(intents or [])
    if not names or names == ["*"]:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise MangaEvalError(f"unknown intent(s) {unknown} (known: {', '.join(known)})")
    return names


def intent_shares(intents: list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """Each covered intent's share of ALL traffic (they sum to the covered share, not to 1)."""
    from mangaeval.intents import load_intents

    known = load_intents()
    return {name: known[name].traffic_share for name in covered(intents)}


def messages_per_day(value: float | None = None) -> float:
    """The configured volume (routing_policy.yaml's messages_per_day) unless a value is given."""
    if value is not None:
        return float(value)
    from mangaeval.warehouse.policy import load_policy

    return float(load_policy().messages_per_day)


def requests_per_minute(intents: list[str] | tuple[str, ...] | None = None, per_day: float | None = None) -> float:
    """Requests a minute on the covered intents ("*" or empty = all) at the configured (or given) volume."""
    return messages_per_day(per_day) * sum(intent_shares(intents).values()) / MINUTES_PER_DAY
