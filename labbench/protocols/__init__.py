"""Bytes to samples: line framing, line formats, profiles.  No storage, no Qt."""
