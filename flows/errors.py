"""Errors the command line reports as one line on stderr (exit code 2), without a traceback."""


class UserError(Exception):
    """An error caused by input or environment: a bad path, bad SQL, a bad config value."""
