"""Rich output on stdout for commands, with one way to end when the reader of stdout goes away.

Rich's own answer to a closed pipe is `SystemExit(1)`; raising BrokenPipeError instead lets the command line's entry
point end every command the same quiet way (`vidcot query DS | head -1`, `vidcot shots V | head -1`)."""

from __future__ import annotations

from rich.console import Console


class StdoutConsole(Console):
    """A `rich.console.Console` on stdout whose closed pipe is a BrokenPipeError for `flows.cli.main` to handle."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more to write; rich checks this before every write
        raise BrokenPipeError("stdout was closed by its reader")
