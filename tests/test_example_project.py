"""``make demo``: it serves on SQLite with no Redis, a canvas started from its page completes live, its
buttons are the README's, and Ctrl-C stops it at once."""

from __future__ import annotations

import html.parser
import http.cookiejar
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.conftest import free_port, wait_for_port

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

    def post(self, path: str, fields: dict[str, str] | None = None, **headers: str) -> Any:
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": self.cookie("csrftoken"), **(fields or {})})
        request = urllib.request.Request(
            self.base + path, data=data.encode(), headers={"Referer": self.base + path, **headers}
        )
        return self.opener.open(request, timeout=10)

    def log_in(self) -> Browser:
        self.get("/login/")
        self.post("/login/", {"username": "demo", "password": "demo"})
        return self


class Buttons(html.parser.HTMLParser):
    """The labels of the page's buttons that start a canvas (in a ``form`` marked ``data-start``)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.labels: list[str] = []
        self.in_start = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.in_start = "data-start" in dict(attrs)
        elif tag == "button" and self.in_start:
            self.labels.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_start = False

    def handle_data(self, data: str) -> None:
        if self.in_start and self.labels:
            self.labels[-1] += data.strip()


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


def test_readme_names_the_buttons_of_the_demo_page(demo_server: str) -> None:
    page = Browser(f"http://{demo_server}").log_in().get("/").read().decode()
    labels = Buttons(page).labels
    quick_start = (ROOT / "README.md").read_text().split("## Quick start")[1].split("\n## ")[0]
    paragraph = " ".join(quick_start.split("Its page has a button")[1].split("\n\n")[0].split())
    quoted = [name for name in re.findall(r'"([^"]+)"', paragraph) if name != "Prepare report for demo"]
    assert len(labels) == 10
    assert quoted == labels


def test_a_button_starts_its_canvas_without_a_reload(demo_server: str) -> None:
    browser = Browser(f"http://{demo_server}").log_in()
    # The page's script asks for JSON: an answer, no redirect to follow.
    answer = browser.post("/start/group/", Accept="application/json")
    assert (answer.status, answer.url, json.load(answer)) == (
        202,
        browser.base + "/start/group/",
        {"started": "group"},
    )
    # Without JavaScript, the form posts and comes back to the page.
    assert browser.post("/start/group/").url == browser.base + "/"


def test_pages_name_an_icon_and_the_browsers_default_icon_is_found(demo_server: str) -> None:
    browser = Browser(f"http://{demo_server}")
    login = browser.get("/login/").read().decode()
    page = browser.log_in().get("/").read().decode()
    for text in (login, page):
        icon = re.search(r'<link rel="icon" href="([^"]+)"', text)
        assert icon is not None
        assert browser.get(icon.group(1)).status == 200
    # The admin's pages name none: the browser asks for /favicon.ico.
    answer = browser.get("/favicon.ico")
    assert (answer.status, answer.headers["Content-Type"]) == (200, "image/svg+xml")


def test_pages_have_no_inline_style_or_script(demo_server: str) -> None:
    browser = Browser(f"http://{demo_server}")
    for text in (browser.get("/login/").read().decode(), browser.log_in().get("/").read().decode()):
        assert " style=" not in text
        assert "<style" not in text
        assert all(" src=" in script.split(">")[0] for script in text.split("<script")[1:])


def test_ctrl_c_cancels_the_running_tasks_and_stops_at_once(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    database = tmp_path / "demo.sqlite3"
    env["DATABASE_URL"] = f"sqlite:///{database}"
    command = [sys.executable, "example_project/manage.py", "demo", "--port", str(port)]
    with open(tmp_path / "demo.log", "wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server, tmp_path / "demo.log")
        browser = Browser(f"http://127.0.0.1:{port}").log_in()
        # A minute of work, and 500 tasks waiting for the worker's 4 threads.
        for canvas in ("cancel", "many"):
            browser.post(f"/start/{canvas}/", Accept="application/json")
        deadline = time.monotonic() + 30
        while not any(
            tree["records"][0]["state"] == "In Progress"
            for tree in json.load(browser.get("/tasks/trees/"))["trees"]
        ):
            assert time.monotonic() < deadline, "the demo's worker started nothing"
            time.sleep(0.2)
        server.send_signal(signal.SIGINT)
        # The long task alone would keep it a minute.
        assert server.wait(timeout=15) == 0, (tmp_path / "demo.log").read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with sqlite3.connect(database) as db:
        states = db.execute(
            "SELECT state FROM realtime_tasks_usertaskstatus WHERE parent_id IS NULL"
        ).fetchall()
    assert sorted(states) == [("Canceled",), ("Canceled",)]


def test_django_tasks_task_started_from_the_demo_page_completes_live(demo_server: str) -> None:
    """The "A django.tasks task" button: enqueued through the TrackingBackend, run by django-tasks-db's worker
    inside the demo's process, its record's steps seen live to the end."""
    browser = Browser(f"http://{demo_server}").log_in()
    assert "/start/djtask/" in browser.get("/").read().decode()
    headers = {"Origin": f"http://{demo_server}", "Cookie": f"sessionid={browser.cookie('sessionid')}"}
    with connect(f"ws://{demo_server}/ws/tasks/", additional_headers=headers) as client:
        assert json.loads(client.recv(timeout=10))["type"] == "snapshot"
        answer = browser.post("/start/djtask/", Accept="application/json")
        assert (answer.status, json.load(answer)) == (202, {"started": "djtask"})
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not (seen and seen[-1]["state"] in TERMINAL):
            assert time.monotonic() < deadline, "the django.tasks task did not finish live"
            try:
                message = json.loads(client.recv(timeout=1))
            except TimeoutError:
                continue
            seen += [
                record
                for record in message.get("records", [])
                if record["name"] == "Tidy up with django.tasks"
                and (not seen or record["version"] > seen[-1]["version"])
            ]
    last = seen[-1]
    assert (last["parent"], last["state"], last["completed_steps"], last["total_steps"]) == (
        None,
        "Succeeded",
        5,
        5,
    )
    # Its bar moved while it ran, and the JSON API tells the same.
    assert any(record["state"] == "In Progress" and 0 < record["completed_steps"] < 5 for record in seen)
    tree = json.load(browser.get(f"/tasks/trees/{last['uuid']}/"))
    assert [(record["uuid"], record["state"]) for record in tree["records"]] == [(last["uuid"], "Succeeded")]
