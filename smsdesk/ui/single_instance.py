"""One window per data folder: a second launch asks the first to come to the front, then quits.

The first instance listens on a local socket named after the user and the data folder, so
portable installs (another SMSDESK_HOME) and tests do not collide.
"""

from __future__ import annotations

import getpass
import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

CONNECT_MS = 500


def server_name(home: Path) -> str:
    digest = hashlib.sha256(f"{getpass.getuser()}:{home.resolve()}".encode()).hexdigest()
    return f"smsdesk-{digest[:16]}"


class SingleInstance(QObject):
    activated = Signal()  # another launch wants this window in front

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        """True when this is the first instance; otherwise the first one is told to show."""
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(CONNECT_MS):
            probe.write(b"raise\n")
            probe.waitForBytesWritten(CONNECT_MS)
            probe.disconnectFromServer()
            return False
        # Nobody answered: a socket file left by a crashed instance must not block us.
        QLocalServer.removeServer(self.name)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self._server.listen(self.name):
            return True  # cannot listen (odd system): run anyway rather than refuse to start
        self._server.newConnection.connect(self._on_connection)
        return True

    def _on_connection(self) -> None:
        assert self._server is not None
        while (conn := self._server.nextPendingConnection()) is not None:
            conn.disconnected.connect(conn.deleteLater)
            self.activated.emit()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
