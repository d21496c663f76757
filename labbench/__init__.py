"""labbench: the desktop workbench of a silicon bring-up lab."""

__version__ = "0.1.0"
