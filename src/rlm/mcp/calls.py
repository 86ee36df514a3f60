"""Tool calls that run side by side, each with a deadline, and stop when cancelled.

Why: one slow call (a grep over a huge buffer, a big load, a crafted store's
expensive query) must not stall every other client, and an agent that gives
up on a call must be able to stop its work. So:

* **Concurrent.** Each call runs in its own worker thread on its own SQLite
  connection (:class:`~rlm.store.Store` per call). WAL lets readers run beside
  each other and beside the one writer; writers queue on SQLite's busy timeout.
  The embedding model is process-wide and shared (ONNX Runtime sessions are
  thread-safe), so it stays warm for every call.
* **A deadline.** A call still running after ``call_timeout`` seconds gets a
  ``DeadlineExceeded`` tool error. Its work is stopped, not just forgotten:
  its connection is interrupted (``sqlite3_interrupt`` plus a progress
  handler, see :func:`rlm.store.connection.interruptible`), so the running
  statement and every later one fail at once and an open write transaction
  rolls back.
* **Cancellation.** MCP ``notifications/cancelled`` cancels the request's
  task (the SDK's default); the call is stopped the same way. A cancelled
  request gets no answer (the protocol says so).

Python work between two statements is not pre-empted (CPython cannot kill a
thread); it ends at the call's next statement. The thread is then given
:data:`SETTLE_SECONDS` to roll back and close before the call's answer goes out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from rlm.defaults import MCP_CALL_TIMEOUT
from rlm.errors import RlmError
from rlm.store import Store
from rlm.store.connection import interruptible

DEFAULT_CALL_TIMEOUT = MCP_CALL_TIMEOUT
"""Seconds a tool call may run (``rlm mcp --call-timeout``; 0 means no deadline)."""
SETTLE_SECONDS = 5.0
"""How long a stopped call's thread gets to roll back and close its store."""
MAX_THREADS = 32
"""Calls running at once in one server; more wait for a free thread."""

T = TypeVar("T")


class DeadlineExceededError(RlmError):
    """A tool call ran past the server's per-call deadline and was stopped."""

    default_type = "DeadlineExceeded"

    def __init__(self, tool: str, seconds: float) -> None:
        super().__init__(
            f"{tool} did not finish within the server's {seconds:g} s call deadline and"
            " was stopped; whatever it had not committed was rolled back",
            suggestion="Narrow the call (one buffer, fewer matches, a smaller top_k), or"
            " start the server with a larger --call-timeout",
        )


class CallStoppedError(RlmError):
    """The call was cancelled (by the client, or because the server is stopping)."""

    default_type = "Cancelled"

    def __init__(self, tool: str) -> None:
        super().__init__(f"{tool} was cancelled; whatever it had not committed was rolled back")


class CallControl:
    """One call's stop switch, shared by the event loop and the call's thread.

    The thread registers each store it opens (:meth:`attach`); :meth:`stop`
    (from any thread) sets the flag and interrupts every registered connection.
    """

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._guard = threading.Lock()
        self._interrupts: dict[int, Callable[[], None]] = {}
        self.started = False
        """The thread began the body (a call stopped while queued never starts)."""
        self.done = threading.Event()
        """Set when the call's thread has closed its store (rolled back if stopped)."""

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def attach(self, store: Store) -> None:
        """Make ``store``'s connection stop with this call (call in the owning thread)."""
        interrupt = interruptible(store.conn, self._stopped.is_set)
        with self._guard:
            self._interrupts[id(store)] = interrupt
        if self.stopped:
            interrupt()

    def detach(self, store: Store) -> None:
        with self._guard:
            self._interrupts.pop(id(store), None)

    def begin(self) -> bool:
        """Mark the body as started, unless the call was already stopped."""
        with self._guard:
            self.started = not self.stopped
            return self.started

    def stop(self) -> None:
        with self._guard:
            self._stopped.set()
            interrupts = list(self._interrupts.values())
        for interrupt in interrupts:
            interrupt()


class CallRunner:
    """Runs blocking call bodies in worker threads with a deadline and cancellation."""

    def __init__(self, call_timeout: float | None = DEFAULT_CALL_TIMEOUT) -> None:
        self.call_timeout = call_timeout or None
        """Seconds per call; None (or 0) for no deadline."""
        self._limiter: anyio.CapacityLimiter | None = None
        self._limiter_loop: object = None
        self._active: set[CallControl] = set()
        self._guard = threading.Lock()

    @property
    def active(self) -> int:
        """Calls whose thread is still running (stopped ones included until they end)."""
        with self._guard:
            self._active = {c for c in self._active if not c.done.is_set()}
            return len(self._active)

    def limiter(self) -> anyio.CapacityLimiter:
        """The thread cap of the running event loop (a limiter belongs to one loop)."""
        loop = anyio.lowlevel.current_token()
        if self._limiter is None or self._limiter_loop != loop:
            self._limiter = anyio.CapacityLimiter(MAX_THREADS)
            self._limiter_loop = loop
        return self._limiter

    async def run(self, tool: str, body: Callable[[CallControl], T]) -> T:
        """``body(control)`` in a worker thread; raises DeadlineExceededError past the
        deadline, and re-raises cancellation once the thread has stopped."""
        control = CallControl()
        with self._guard:
            self._active.add(control)
        try:
            with anyio.move_on_after(self.call_timeout):
                return await anyio.to_thread.run_sync(
                    partial(_finish, body, control, tool),
                    abandon_on_cancel=True,
                    limiter=self.limiter(),
                )
            control.stop()
            await _settle(control)
            raise DeadlineExceededError(tool, self.call_timeout or 0.0)
        except anyio.get_cancelled_exc_class():
            control.stop()
            with anyio.CancelScope(shield=True):
                await _settle(control)
            raise
        finally:
            if control.stopped and not control.started:
                control.done.set()  # stopped while queued: it never runs (see begin)
            with self._guard:
                if control.done.is_set():
                    self._active.discard(control)
                # else: a stopped call's thread still runs; it counts until it ends

    def stop_all(self) -> None:
        """Stop every running call (server shutdown)."""
        with self._guard:
            controls = [c for c in self._active if not c.done.is_set()]
        for control in controls:
            control.stop()


def _finish(body: Callable[[CallControl], T], control: CallControl, tool: str) -> T:
    try:
        if not control.begin():
            raise CallStoppedError(tool)
        return body(control)
    finally:
        control.done.set()


async def _settle(control: CallControl) -> None:
    """Give a stopped call's thread a moment to roll back before the answer goes out."""
    with anyio.move_on_after(SETTLE_SECONDS):
        while control.started and not control.done.is_set():
            await anyio.sleep(0.005)
