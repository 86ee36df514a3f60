"""Reading input (files, stdin, strings) into validated UTF-8 bytes."""

from rlm.io.reader import (
    DEFAULT_MAX_FILE_SIZE,
    SourceText,
    from_bytes,
    from_text,
    open_file,
    read_stdin,
)

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "SourceText",
    "from_bytes",
    "from_text",
    "open_file",
    "read_stdin",
]
