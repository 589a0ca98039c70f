"""TODO docstring."""

from __future__ import annotations


class InputError(ValueError):
    """A user's input is wrong: the message is one line naming the file, the field or row, and the problem."""
