"""Storage: models, opening and migrating databases, repository functions, telemetry chunks.

Qt-free.  Callers get plain dataclasses; no ORM object or session leaves this package.
"""

from labbench.storage.engine import Database, DatabaseError, DatabaseTooNew, open_database

__all__ = ["Database", "DatabaseError", "DatabaseTooNew", "open_database"]
