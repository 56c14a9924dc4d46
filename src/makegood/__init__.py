"""makegood: fair, fast and provable compensation after a mass service outage."""

__version__ = "0.1.0"
