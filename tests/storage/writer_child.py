"""Child process for the durability and concurrency tests.

Usage: python writer_child.py DB_PATH RUN_ID COMMITS
Appends 8 channels x 500 samples per commit and prints ``committed <n>`` after each
commit returns, so the parent knows exactly what must survive a SIGKILL.
"""

import sys

import numpy as np

from labbench.storage import open_database
from labbench.storage.telemetry import TelemetryWriter

CHANNELS = [f"ch{i}" for i in range(8)]
PER_COMMIT = 500


def main() -> None:
    db_path, run_id, commits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    db = open_database(db_path)
    writer = TelemetryWriter(db, run_id, max_chunk_samples=PER_COMMIT)
    for n in range(commits):
        t = n + np.arange(PER_COMMIT) / PER_COMMIT
        for i, name in enumerate(CHANNELS):
            writer.append(name, t, t * (i + 1))
        writer.commit()
        print(f"committed {n}", flush=True)
    writer.close()
    db.dispose()


if __name__ == "__main__":
    main()
