"""A controllable SMTP server for tests: accepts, refuses (451) or stays silent.

Just enough of RFC 5321 for Python's ``smtplib`` (what Django's SMTP backend uses): a
greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT. ``mode`` may be changed while
it runs, so a test can take the "mail server" down and bring it back.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["accept", "refuse", "silent"]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: str


@dataclass
class SmtpSink:
    mode: Mode = "accept"
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    _server: socketserver.ThreadingTCPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        assert self._server is not None  # noqa: S101 - test helper
        return int(self._server.server_address[1])

    def start(self) -> SmtpSink:
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                sink.connections += 1
                if sink.mode == "silent":
                    sink._release.wait(timeout=30)  # hold the connection, say nothing
                    return
                self.reply("220 sink ESMTP")
                sender, recipients = "", list[str]()
                while raw := self.rfile.readline():
                    command = raw.decode(errors="replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 sink")
                    elif verb == "MAIL":
                        if sink.mode == "refuse":
                            self.reply("451 4.3.0 Try again later")
                            continue
                        sender, recipients = command[10:].strip("<> "), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command[8:].strip("<> "))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines = []
                        while (line := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(line.decode(errors="replace"))
                        sink.received.append(Received(sender, recipients, "".join(lines)))
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # RSET, NOOP and anything else
                        self.reply("250 OK")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
