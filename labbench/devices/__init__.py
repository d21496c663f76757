"""Rigs: serial ports, pyserial URLs and simulated rigs.  Bytes in, bytes out; no parsing."""
