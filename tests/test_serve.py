"""tidings serve: an edit reaches the browser; a broken edit shows the error; a fix recovers."""

from __future__ import annotations

import shutil
import threading
import time
import urllib.error
import urllib.request

from generator.serve import EVENTS_PATH, PreviewServer

from .conftest import REPO


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_edit_error_and_recovery_through_the_preview(tmp_path):
    root = tmp_path / "site"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copy(REPO / "tidings.yaml", root / "tidings.yaml")
    issue = root / "content/issues/003.md"
    original = issue.read_text()
    with PreviewServer(root, port=0, poll_interval=0.05) as server:
        status, page = fetch(server.url + "issues/3/")
        assert status == 200
        assert EVENTS_PATH in page, "pages carry the live-reload script"
        assert (root / ".tidings/preview").is_dir() and not (root / "public").exists()
        drafts = fetch(server.url + "issues/10/")
        assert drafts[0] == 200, "the preview includes drafts"

        # An open page learns about the rebuild through the event stream.
        events: list[str] = []

        def listen() -> None:
            with urllib.request.urlopen(server.url + EVENTS_PATH.lstrip("/"), timeout=20) as stream:
                for raw in stream:
                    line = raw.decode().strip()
                    if line.startswith("data:"):
                        events.append(line)
                        if len(events) == 2:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert wait_for(lambda: len(events) == 1)
        issue.write_text(original.replace("Ship Shape Weekly #3", "Ship Shape Weekly #3 (edited)", 1))
        assert wait_for(lambda: "(edited)" in fetch(server.url + "issues/3/")[1])
        listener.join(timeout=20)
        assert len(events) == 2

        issue.write_text(original.replace("date:", "date: someday\nwas:", 1))
        assert wait_for(lambda: fetch(server.url + "issues/3/")[0] == 500)
        status, page = fetch(server.url + "issues/3/")
        assert "The build failed" in page and "content/issues/003.md:" in page

        issue.write_text(original)
        assert wait_for(lambda: fetch(server.url + "issues/3/")[0] == 200)
        assert fetch(server.url + "no/such/page/")[0] == 404
