"""Spark failures said in one line: an input file that cannot be read, any other error.

Spark reads lazily: a truncated ``.gz`` part (an interrupted copy) only fails when a job
reaches it, and the error then arrives as a Java exception of a hundred lines whose first
one names neither the cause nor, often, the file. :func:`explained_read_failures` turns it
into one :class:`UnreadableInputFileError` naming the file and the cause; any other error
passes through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from kedro.io.core import DatasetError
from py4j.protocol import Py4JJavaError

# Spark 4: "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file <path>. ..."
_FAILED_READ = re.compile(
    r"FAILED_READ_FILE[^\]]*\].*?reading file (?P<path>\S+?)\.?\s"
)


class UnreadableInputFileError(DatasetError):
    """An input file that Spark cannot read to its end (truncated or corrupt)."""


def _messages(exc: BaseException) -> list[str]:
    """The messages of ``exc`` and of its causes, Python's and then Java's."""
    messages: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Py4JJavaError):
            cause = seen.java_exception
            while cause is not None:
                messages.append(str(cause.toString()))
                cause = cause.getCause()
        else:
            messages.append(str(seen))
        seen = seen.__cause__
    return messages


def first_line(exc: BaseException) -> str:
    """The first line of a Spark error (of its Java exception), without any stack trace."""
    lines = _messages(exc)[0].strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def unreadable_file_message(exc: BaseException) -> str | None:
    """One line naming the file and the cause, if ``exc`` is a failed read of a file."""
    messages = _messages(exc)
    for message in messages:
        found = _FAILED_READ.search(message)
        if found:
            cause = messages[-1].splitlines()[0]
            return (
                f"Cannot read the input file {found['path']} to its end ({cause}): it is "
                f"truncated or corrupt, as an interrupted copy leaves a file. Copy it again, "
                f"or move it out of the input, and run again."
            )
    return None


@contextmanager
def explained_read_failures() -> Iterator[None]:
    """Run Spark actions; a failed read of an input file becomes one clear error."""
    try:
        yield
    except Exception as exc:
        message = unreadable_file_message(exc)
        if message is None:
            raise
        raise UnreadableInputFileError(message) from None
