"""Domain errors of the matcher library; the api maps each class to one HTTP status."""

from __future__ import annotations


class MatcherError(Exception):
    """Signal a domain problem; `code` is a stable machine-readable identifier for clients."""

    code = "matcher_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class FileFormatError(MatcherError, ValueError):
    """Refuse an import file that cannot be read as a table at all.

    Codes: ``empty_file``, ``no_header``, ``encoding``, ``unsupported_format``, ``unreadable``,
    ``malformed_csv``, ``too_many_rows``. ``row`` and ``offset`` (a byte offset) locate the
    problem when it has a place in the file.
    """

    code = "file_format"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        row: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.row = row
        self.offset = offset
