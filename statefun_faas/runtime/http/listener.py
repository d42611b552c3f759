"""Accepting connections on a listening socket, within a cap, and riding out a lack of file descriptors.

asyncio retries a failed ``accept()`` once a second and logs each time; uvloop closes the listening socket
for good on the first ``EMFILE``. So the runtime's ports accept here: over the cap a connection gets a
short 503 and is closed at once (the ones already open keep working); when the process or the system is
out of descriptors, accepting pauses with a growing delay (0.1 s up to 2 s) and one log line says so.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

logger = logging.getLogger("statefun_faas.runtime")

#: accept() errors that mean "no resources now", not "this connection failed"
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
FIRST_PAUSE, LONGEST_PAUSE = 0.1, 2.0
ACCEPTS_PER_WAKEUP = 64
REPEAT_LOG_AFTER = 60.0  # seconds between two log lines about the same trouble


class Listener:
    """Accepts on ``sock`` and hands each connection to ``factory``, while ``count()`` is under ``cap``."""

    def __init__(
        self,
        sock: socket.socket,
        factory: Callable[[], asyncio.Protocol],
        count: Callable[[], int],
        cap: int,
        refusal: bytes,
    ) -> None:
        self.sock, self.factory, self.count, self.cap, self.refusal = sock, factory, count, cap, refusal
        self.port = sock.getsockname()[1]
        self.connecting = 0  # accepted, not yet handed to the protocol
        self.refused = 0
        self._pause = 0.0
        self._resume: asyncio.TimerHandle | None = None
        self._logged: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()

    def start(self) -> None:
        self.sock.setblocking(False)
        self.sock.listen(min(socket.SOMAXCONN, max(self.cap, 16)))
        self._loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
        else:
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for task in self._tasks:
            task.cancel()

    def _accept(self) -> None:
        for _ in range(ACCEPTS_PER_WAKEUP):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as error:
                if error.errno in OUT_OF_RESOURCES:
                    self._back_off(error)
                else:
                    self._log("accept", "port %d: accept() failed: %s", self.port, error)
                return
            self._pause = 0.0
            conn.setblocking(False)
            if conn.family != socket.AF_UNIX:  # answers go out at once (asyncio leaves Nagle on accepted sockets)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.count() + self.connecting >= self.cap:
                self._refuse(conn)
            else:
                self.connecting += 1
                task = self._loop.create_task(self._connect(conn))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self.factory, conn)
        except BaseException as error:
            conn.close()
            if not isinstance(error, OSError):
                raise
            self._log("connect", "port %d: a connection could not be set up: %s", self.port, error)
        finally:
            self.connecting -= 1

    def _refuse(self, conn: socket.socket) -> None:
        self.refused += 1
        try:
            conn.send(self.refusal)
            for _ in range(16):  # what the client sent already: closed unread, it would reset the answer
                if not conn.recv(65536):
                    break
        except OSError:
            pass
        conn.close()
        self._log(
            "cap",
            "port %d: %d connections open, the cap; %d refused so far (--max-connections)",
            self.port,
            self.cap,
            self.refused,
        )

    def _back_off(self, error: OSError) -> None:
        self._pause = min(LONGEST_PAUSE, max(FIRST_PAUSE, 2 * self._pause))
        self._log(
            "resources",
            "port %d: can not accept connections (%s); pausing %.1fs and retrying: raise the open files limit "
            "(ulimit -n) or lower --max-connections",
            self.port,
            error.strerror,
            self._pause,
        )
        self._loop.remove_reader(self.sock.fileno())
        self._resume = self._loop.call_later(self._pause, self._resumed)

    def _resumed(self) -> None:
        self._resume = None
        self._loop.add_reader(self.sock.fileno(), self._accept)

    def _log(self, key: str, message: str, *args: object) -> None:
        """Log a trouble once, then at most once per minute while it lasts."""
        now = self._loop.time()
        if now - self._logged.get(key, -REPEAT_LOG_AFTER) >= REPEAT_LOG_AFTER:
            self._logged[key] = now
            logger.warning(message, *args)
