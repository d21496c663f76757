"""Reader threads, fan-out to ring buffers, the storage writer and live hooks."""
