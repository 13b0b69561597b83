"""`mangaeval ab ...` (filled in below)."""


def register(sub) -> None:
    pass
