"""A total deadline on one network exchange (an alert's send, a price list's download).

Per-read timeouts do not bound an exchange: a server that trickles a byte every few seconds resets them
forever (#22: `budget check` and `sync-prices` never ended, and a send stuck past the alert claim's 10 minutes
would have been sent again by the next run). `Deadline` starts a watchdog; when it fires, every socket the
exchange opened is shut down, so whatever read or write is blocked returns at once with an error, and the
exchange fails like any dropped connection (the caller's usual retry-next-run path). Sockets are registered
through `DeadlineBackend` (httpx/httpcore) or `deadline_smtp` (smtplib).

Standard library only at import time; httpcore is imported by `http_transport`, when used.
"""

from __future__ import annotations

import math
import smtplib
import socket
import threading
import time
from typing import Any


class Deadline:
    """`with Deadline(60) as d:`: after 60 s every socket given to `d.add()` is shut down; `d.expired` tells."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._end = time.monotonic() + seconds
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Deadline:
        self._end = time.monotonic() + self.seconds
        self._timer = threading.Timer(max(0.0, self.seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def clamp(self, timeout: float | None) -> float:
        """A per-operation timeout that never passes the deadline."""
        left = self.remaining()
        return left if timeout is None or math.isinf(timeout) else min(timeout, left)

    def add(self, sock: socket.socket) -> None:
        """Watch a connected socket: a duplicate of it is kept, which a TLS wrap does not detach."""
        try:
            dup = sock.dup()
        except (OSError, NotImplementedError):
            return
        with self._lock:
            if not self.expired:
                self._socks.append(dup)
                return
        _shutdown(dup)
        dup.close()

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for s in socks:
            _shutdown(s)


def _shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def http_transport(deadline: Deadline, **kwargs: Any) -> Any:
    """An httpx transport whose every connection `deadline` watches, and whose connect timeouts it clamps."""
    import httpcore  # lazy: start-up
    import httpx  # lazy: start-up

    class DeadlineBackend(httpcore.SyncBackend):
        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> httpcore.NetworkStream:
            stream = super().connect_tcp(host, port, deadline.clamp(timeout), local_address, socket_options)
            sock = stream.get_extra_info("socket")
            if sock is not None:
                deadline.add(sock)
            return stream

    transport = httpx.HTTPTransport(**kwargs)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = DeadlineBackend()
    return transport


def deadline_smtp(deadline: Deadline, implicit_tls: bool, **kwargs: Any) -> smtplib.SMTP:
    """An smtplib client (not yet connected: call `.connect(host, port)`) whose socket `deadline` watches."""
    base: type[smtplib.SMTP] = smtplib.SMTP_SSL if implicit_tls else smtplib.SMTP

    class Client(base):  # type: ignore[valid-type,misc]
        def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
            sock = socket.create_connection((host, port), deadline.clamp(timeout), self.source_address)
            deadline.add(sock)
            if implicit_tls:
                return self.context.wrap_socket(sock, server_hostname=host)
            return sock

    return Client(**kwargs)
