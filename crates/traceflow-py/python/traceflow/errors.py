"""The exceptions traceflow raises, and the warning it gives.

Each derives from :class:`TraceflowError` and from the built-in a caller
would catch anyway: a missing store is a :class:`FileNotFoundError`, a bad
argument a :class:`ValueError`. The messages are the ``traceflow`` command's
one-line errors.
"""

__all__ = [
    "TraceflowError",
    "StoreError",
    "StoreNotFoundError",
    "StoreConnectionError",
    "InvalidArgumentError",
    "NotEnoughDataError",
    "TraceflowWarning",
]


class TraceflowError(Exception):
    """Anything traceflow could not do. Raised alone only for an internal
    error (a bug: please report it)."""


class StoreError(TraceflowError, OSError):
    """The store could not be opened or read: not a file, not a SQLite
    database, not a TraceFlow Lite store, no traceflow schema in the
    database, a failed query."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """No store at the path given (reading never creates one)."""


class StoreConnectionError(StoreError, ConnectionError):
    """The database server could not be reached, refused the login, or the
    TLS handshake failed."""


class InvalidArgumentError(TraceflowError, ValueError):
    """An argument out of range or naming nothing in the store: a window
    below 2, a method other than ``"auto"`` or ``"ols"``, an unknown
    config key or score."""


class NotEnoughDataError(TraceflowError, ValueError):
    """Too few finished traces for the proposal's slope (``method="ols"``
    needs two), as the proposal's ``ValueError``."""


class TraceflowWarning(UserWarning):
    """A verdict of too little data to judge, through :mod:`warnings`: the
    report's ``any_regression`` is then False for want of data, not because
    nothing regressed (its ``insufficient_data`` is True). The message has
    the numbers and what would fix them. ``warnings.simplefilter("error",
    TraceflowWarning)`` makes it an exception."""
