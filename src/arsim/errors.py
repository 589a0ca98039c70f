"""The one error type for bad input, shared by every layer.

A library function that rejects its input names the scenario field or the Python argument (``argument``);
the command line translates argument names into its own flags, so a notebook user reads ``sla_target:``
and a shell user reads ``--sla-target:`` for the same mistake.
"""

from __future__ import annotations


class InputError(ValueError):
    """A user's input is wrong: the message is one line naming the file, the field or row, and the problem.

    ``argument`` is the Python argument the problem is about (None when the message names a file or field);
    ``detail`` is the message without that name, so a front end can put its own spelling in front.
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        self.argument = argument
        self.detail = message
        super().__init__(f"{argument}: {message}" if argument else message)
