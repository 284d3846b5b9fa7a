"""callmart: telephony call events into an analytics warehouse."""

__version__ = "0.1.0"
