"""Storage: models, opening and migrating databases, the rooms callers read and write through,
telemetry chunks.

Qt-free.  The rooms (``inventory``, ``plans``, ``runs``, ``events``, ``results``, ``history``)
hand out the plain records of :mod:`labbench.records`; no ORM object or session leaves this
package (docs/architecture.md §2).
"""

from labbench.storage.engine import Database, DatabaseError, DatabaseTooNew, open_database
from labbench.storage.session import RecordError

__all__ = ["Database", "DatabaseError", "DatabaseTooNew", "RecordError", "open_database"]
