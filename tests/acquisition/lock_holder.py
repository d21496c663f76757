"""Holds a SQLite database's write lock (BEGIN IMMEDIATE) until a line arrives on stdin.

Usage: python lock_holder.py DB_PATH   (prints ``locked`` once it holds the lock)
"""

import sqlite3
import sys

conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
conn.close()
