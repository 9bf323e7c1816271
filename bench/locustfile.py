"""The people `make soak` simulates (run by bench/soak.py through locust, headless).

Each simulated user signs in through the login form (four in five as the lead, one in five as a
member, who works only the incidents it filed) and then, with a think time of 0.5-2.5 s, does
what people do all day: open the dashboard, search, open incidents, file incidents, move them
through the lifecycle, comment, attach small files (text, JSON, CSV, a tiny PNG), and call the
JSON API with a write-scope token. A 409 on a transition is a normal answer (two people moved
the same incident), every other 4xx is a failure of the soak's own requests and shows up in the
table; 5xx answers and dropped connections are counted per request type and written to
SOAK_COUNTS for bench/soak.py.

Settings (environment, set by bench/soak.py): SOAK_PASSWORD, SOAK_API_TOKEN, SOAK_INCIDENTS
(how many incidents the database was seeded with: INC-1..INC-n), SOAK_COUNTS (a JSON file).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import re
from collections import Counter

from locust import HttpUser, between, events, task

PASSWORD = os.environ.get("SOAK_PASSWORD", "")
API_TOKEN = os.environ.get("SOAK_API_TOKEN", "")
SEEDED = int(os.environ.get("SOAK_INCIDENTS", "1000"))
COUNTS_PATH = os.environ.get("SOAK_COUNTS", "")

CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
MOVES = re.compile(r'name="to" value="([a-z_]+)"')
SEARCHES = (
    "certificate expired",
    "status:open priority:p1 disk full",
    "certficate",
    "status:open",
    "priority:p2 timeout",
    "component:rds",
    "latency",
)
PROBLEMS = ("disk full", "latency spike", "5xx burst", "certificate expired")
COMPONENTS = ("rds", "api-gateway", "billing", "auth", "search", "cdn")
# A 1x1 PNG: the smallest image the worker's type check, scan and thumbnailer accept.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

server_errors: Counter[str] = Counter()
# Writes the app said it kept (bench/soak.py compares them with the rows in the database).
accepted: Counter[str] = Counter()
connection_errors: Counter[str] = Counter()
accounts = itertools.count()


@events.request.add_listener
def _count(name, response=None, exception=None, **_kwargs) -> None:
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        server_errors[name] += 1
    elif exception is not None and status == 0:
        connection_errors[name] += 1


@events.quitting.add_listener
def _write_counts(**_kwargs) -> None:
    if COUNTS_PATH:
        with open(COUNTS_PATH, "w") as handle:
            counts = {"5xx": server_errors, "connection_errors": connection_errors, "accepted": accepted}
            json.dump({key: dict(value) for key, value in counts.items()}, handle)


def small_file(n: int) -> tuple[str, bytes, str]:
    kind = n % 4
    if kind == 0:
        return f"soak-{n}.png", TINY_PNG, "image/png"
    if kind == 1:
        return f"soak-{n}.log", b"2026-11-29 12:00:01 ERROR disk full on /var\n" * random.randint(1, 200), "text/plain"
    if kind == 2:
        return f"soak-{n}.json", json.dumps({"host": f"web-{n}", "load": [1, 2, 3]}).encode(), "application/json"
    return f"soak-{n}.csv", b"host,cpu\n" + b"web-1,93\n" * random.randint(1, 100), "text/csv"


class Person(HttpUser):
    wait_time = between(0.5, 2.5)

    def on_start(self) -> None:
        number = next(accounts)
        self.is_lead = number % 5 != 4
        email = "lead@example.com" if self.is_lead else f"engineer{number % 20:02d}@example.com"
        page = self.client.get("/login", name="login form").text
        token = CSRF.search(page).group(1)
        with self.client.post(
            "/login",
            data={"csrf_token": token, "email": email, "password": PASSWORD},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code not in (302, 303):
                response.failure(f"sign-in as {email} answered {response.status_code}")
                raise RuntimeError(f"could not sign in as {email}")
        self.csrf = token
        self.mine: list[str] = []  # incidents this user filed: a member may work only these
        self.files = itertools.count(number * 100_000)

    def some_incident(self) -> str:
        if self.mine and (not self.is_lead or random.random() < 0.5):
            return random.choice(self.mine)
        return f"INC-{random.randint(2, SEEDED)}"  # INC-1 carries the seed's 400-event timeline

    # -- reads ---------------------------------------------------------------------------------

    @task(20)
    def dashboard(self) -> None:
        self.client.get("/", name="list")

    @task(12)
    def search(self) -> None:
        self.client.get("/", params={"q": random.choice(SEARCHES)}, name="search")

    @task(18)
    def view(self) -> None:
        self.client.get(f"/incidents/{self.some_incident()}", name="view")

    # -- writes through the pages --------------------------------------------------------------

    @task(6)
    def create(self) -> None:
        form = {
            "csrf_token": self.csrf,
            "title": f"Soak: {random.choice(PROBLEMS)} on web-{random.randint(1, 40)}",
            "description": "Filed by the soak test.\n\n- step one\n- step two",
            "priority": random.choice(["P1", "P2", "P3", "P4"]),
            "component": random.choice(COMPONENTS),
            "environment": random.choice(["prod", "staging"]),
            "owner": "",
        }
        with self.client.post(
            "/incidents/new", data=form, name="create", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code in (302, 303):
                self.mine.append(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
                accepted["create"] += 1
            else:
                response.failure(f"create answered {response.status_code}")

    @task(8)
    def transition(self) -> None:
        if not self.is_lead and not self.mine:
            return
        key = random.choice(self.mine) if not self.is_lead else self.some_incident()
        page = self.client.get(f"/incidents/{key}", name="view").text
        version, moves = VERSION.search(page), MOVES.findall(page)
        if not version or not moves:
            return
        form = {
            "csrf_token": self.csrf,
            "version": version.group(1),
            "to": random.choice(moves),
            "reason": "Soak test: moved by a simulated person.",
        }
        with self.client.post(
            f"/incidents/{key}/transition", data=form, name="transition", allow_redirects=False, catch_response=True
        ) as response:
            # 409: someone else moved it since the page was read (the concurrent-edit check).
            if response.status_code in (302, 303, 409):
                response.success()
                accepted["transition" if response.status_code != 409 else "transition refused (409)"] += 1
            else:
                response.failure(f"transition answered {response.status_code}")

    @task(8)
    def comment(self) -> None:
        key = self.some_incident()
        body = f"Soak comment {random.randint(1, 10**9)}: checked `dmesg`, nothing **new**."
        with self.client.post(
            f"/incidents/{key}/comments",
            data={"csrf_token": self.csrf, "body": body},
            name="comment",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in (302, 303):
                accepted["comment"] += 1
            else:
                response.failure(f"comment answered {response.status_code}")

    @task(5)
    def upload(self) -> None:
        key = self.some_incident()
        name, data, content_type = small_file(next(self.files))
        with self.client.post(
            f"/incidents/{key}/evidence",
            data={"csrf_token": self.csrf},
            files={"file": (name, data, content_type)},
            headers={"HX-Request": "true"},
            name="upload",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                accepted["upload"] += 1
            else:
                response.failure(f"upload answered {response.status_code}")

    # -- the JSON API ----------------------------------------------------------------------------

    def api(self, method: str, path: str, name: str, expected: int, **kwargs) -> None:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with self.client.request(
            method, f"/api/v1{path}", headers=headers, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code != expected:
                response.failure(f"{name} answered {response.status_code}")
            elif method == "POST":
                accepted[name] += 1

    @task(6)
    def api_list(self) -> None:
        self.api("GET", "/incidents", "api list", 200, params={"q": random.choice(SEARCHES), "limit": 20})

    @task(5)
    def api_get(self) -> None:
        self.api("GET", f"/incidents/{self.some_incident()}", "api get", 200)

    @task(3)
    def api_create(self) -> None:
        body = {"title": "Soak: filed through the API", "priority": "P3", "component": random.choice(COMPONENTS)}
        self.api("POST", "/incidents", "api create", 201, json=body)

    @task(3)
    def api_comment(self) -> None:
        body = {"body": "Soak: a comment through the API."}
        self.api("POST", f"/incidents/{self.some_incident()}/comments", "api comment", 201, json=body)
