"""The warehouse: one interface over DuckDB (embedded default), PostgreSQL and Amazon Redshift, running the
same SQL files (sql/) on all three."""

from mangaeval.warehouse.base import Warehouse, connect
from mangaeval.warehouse.decide import decide

__all__ = ["Warehouse", "connect", "decide"]
