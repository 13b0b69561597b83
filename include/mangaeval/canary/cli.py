"""`mangaeval canary ...` (placeholder until the canary commands land)."""


def register(sub) -> None:
    pass
