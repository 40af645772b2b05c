"""Debian's headless Chromium for the tests that look at a page in a real browser.

:func:`chromium` runs it once on the command line (``--dump-dom``, ``--screenshot``);
:func:`devtools` keeps it open and drives it over the DevTools protocol, to type in a
page as a reader does. The protocol goes through ``--remote-debugging-pipe`` (JSON
messages ended by a NUL byte, read by Chromium on its fd 3 and written on its fd 4), so
the standard library is enough: no WebSocket client, no driver to install.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
)
#: Lets a page's scripts finish before ``--dump-dom`` or ``--screenshot`` read it.
VIRTUAL_TIME = "--virtual-time-budget=20000"


def _executable() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, (
        "Debian's chromium is needed for this test: make setup installs it"
    )
    return executable


def chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess:
    """Chromium run headless with ``arguments`` (after the flags: a later
    ``--window-size`` wins) and its own profile folder; stdout and stderr captured."""
    return subprocess.run(
        [_executable(), *CHROMIUM_FLAGS, VIRTUAL_TIME, f"--user-data-dir={profile}"]
        + list(arguments),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


class DevTools:
    """One page of a running Chromium, driven over the DevTools protocol.

    :meth:`send` calls a protocol method on the page and returns its result; the events
    that arrive meanwhile are kept in :attr:`events` (``Runtime.consoleAPICalled``,
    ``Runtime.exceptionThrown``... once ``Runtime.enable`` was sent).
    """

    def __init__(self, to_browser: int, from_browser: int, timeout: float) -> None:
        self._to_browser, self._from_browser = to_browser, from_browser
        self._timeout = timeout
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def _read_message(self, deadline: float) -> dict[str, Any]:
        """The next message from Chromium; an error past ``deadline`` or at its exit."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            assert ready, "Chromium did not answer in time"
            chunk = os.read(self._from_browser, 1 << 20)
            assert chunk, "Chromium closed its DevTools pipe"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call ``method`` (on the attached page, once :meth:`attach` ran); its result."""
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self._timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") != self._last_id:
                self.events.append(reply)
                continue
            assert "error" not in reply, f"{method}: {reply['error']}"
            return reply.get("result", {})

    def wait_for(self, method: str) -> dict[str, Any]:
        """The parameters of the first event ``method`` not yet waited for."""
        deadline = time.monotonic() + self._timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index).get("params", {})
            self.events.append(self._read_message(deadline))

    def attach(self) -> None:
        """Attach to the browser's first page: later calls go to it."""
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(target for target in targets if target["type"] == "page")
        self.session = self.send(
            "Target.attachToTarget", targetId=page["targetId"], flatten=True
        )["sessionId"]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited if a promise)."""
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def open(self, url: str) -> None:
        """Load ``url`` afresh in the page and wait for its load event (scripts run).

        The page is emptied first, so that a ``url`` differing from the current one by
        its fragment alone is loaded again rather than scrolled to."""
        self.send("Page.enable")
        self.send("Runtime.enable")
        for address in ("about:blank", url):
            self.send("Page.navigate", url=address)
            self.wait_for("Page.loadEventFired")

    def click(self, selector: str) -> None:
        """Scroll the element into view and click its centre with the mouse."""
        x, y = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=x,
                y=y,
                button="left",
                clickCount=1,
            )

    def type(self, text: str) -> None:
        """Type ``text`` into the focused element, one key press per character."""
        for character in text:
            self.send("Input.dispatchKeyEvent", type="keyDown", text=character)
            self.send("Input.dispatchKeyEvent", type="keyUp")

    def console(self) -> list[dict[str, Any]]:
        """The console messages and uncaught exceptions of the page so far."""
        kinds = {"Runtime.consoleAPICalled", "Runtime.exceptionThrown"}
        return [event for event in self.events if event.get("method") in kinds]


@contextmanager
def devtools(*arguments: str, profile: Path, timeout: float = 60) -> Iterator[DevTools]:
    """A headless Chromium with ``arguments`` (after the flags), its first page
    attached; closed on exit. Each call waits at most ``timeout`` seconds."""
    to_browser_read, to_browser_write = os.pipe()
    from_browser_read, from_browser_write = os.pipe()
    # Chromium reads fd 3 and writes fd 4: a small Python launcher moves the pipe's ends
    # there and execs it (fds >= 5 first, so that moving one never closes the other).
    ends = [
        fcntl.fcntl(end, fcntl.F_DUPFD, 5)
        for end in (to_browser_read, from_browser_write)
    ]
    for end in (to_browser_read, from_browser_write):
        os.close(end)
    to_browser_read, from_browser_write = ends
    launcher = (
        "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
        "os.close(int(sys.argv[1])); os.close(int(sys.argv[2])); "
        "os.execv(sys.argv[3], sys.argv[3:])"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            launcher,
            str(to_browser_read),
            str(from_browser_write),
            _executable(),
            *CHROMIUM_FLAGS,
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            *arguments,
            "about:blank",
        ],
        pass_fds=(to_browser_read, from_browser_write),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_browser_read)
    os.close(from_browser_write)
    try:
        browser = DevTools(to_browser_write, from_browser_read, timeout)
        browser.attach()
        yield browser
    finally:
        os.close(to_browser_write)  # Chromium exits when its pipe closes
        os.close(from_browser_read)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
