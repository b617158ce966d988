"""``make demo``: it serves on SQLite with no Redis, and a canvas started from its page completes live."""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {"Succeeded", "Failed", "Canceled"}


class Browser:
    """Just enough of a browser: cookies, forms with their CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def cookie(self, name: str) -> str:
        return next(cookie.value or "" for cookie in self.cookies if cookie.name == name)

    def get(self, path: str) -> Any:
        return self.opener.open(self.base + path, timeout=10)

    def post(self, path: str, fields: dict[str, str] | None = None) -> Any:
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": self.cookie("csrftoken"), **(fields or {})})
        request = urllib.request.Request(
            self.base + path, data=data.encode(), headers={"Referer": self.base + path}
        )
        return self.opener.open(request, timeout=10)


def test_canvas_started_from_the_demo_page_completes_live(demo_server: str) -> None:
    demo = demo_server
    browser = Browser(f"http://{demo}")
    browser.get("/login/")
    browser.post("/login/", {"username": "demo", "password": "demo"})
    page = browser.get("/").read().decode()
    assert "<task-progress" in page
    headers = {"Origin": f"http://{demo}", "Cookie": f"sessionid={browser.cookie('sessionid')}"}
    with connect(f"ws://{demo}/ws/tasks/", additional_headers=headers) as client:
        assert json.loads(client.recv(timeout=10))["type"] == "snapshot"
        browser.post("/start/nested/")
        records: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the canvas did not finish live"
            try:
                message = json.loads(client.recv(timeout=1))
            except TimeoutError:
                message = {"records": []}
            for record in message.get("records", []):
                if record["uuid"] not in records or records[record["uuid"]]["version"] < record["version"]:
                    records[record["uuid"]] = record
            roots = [record for record in records.values() if record["parent"] is None]
            if roots and all(record["state"] in TERMINAL for record in records.values()):
                tree = json.load(browser.get(f"/tasks/trees/{roots[0]['uuid']}/"))
                if sorted(tree["records"], key=lambda r: r["uuid"]) == sorted(
                    records.values(), key=lambda r: r["uuid"]
                ):
                    break
    assert (roots[0]["kind"], roots[0]["state"], len(records)) == ("chain", "Succeeded", 15)
