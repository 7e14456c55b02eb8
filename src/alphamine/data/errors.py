"""Errors of the data layer. The CLI prints `str(err)` as one line; nothing here is a traceback."""


class DataError(ValueError):
    """Bad input data: the message names the file (or field) and the problem, and says what to do."""
