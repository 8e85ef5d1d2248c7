"""PostgreSQL stopped under a replica's feet: every request is still answered, promptly, with
503 and Retry-After (the process itself stays alive and says so); when PostgreSQL is back, the
same process writes again, and nothing it acknowledged is lost."""

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.production.conftest import OwnPostgres
from tests.production.replicas import clients, first_admin, replica, whole_audit
from tests.support.builders import PRODUCT_BODY

pytestmark = pytest.mark.slow

CONNECT_TIMEOUT_S = 2
#: The longest any request may take while PostgreSQL is down: the connect timeout and a margin.
ANSWERED_WITHIN_S = 6
#: How long PostgreSQL stays down.
DOWN_S = 6
#: How soon after PostgreSQL is back a write must succeed again.
BACK_WITHIN_S = 15


@dataclass
class Answer:
    route: str
    began: float
    took: float
    status: int  # 0: no answer at all
    retry_after: str | None
    body: Any


class Load:
    """Writers, readers and probes running against one server until ``stop``."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def ask(self, http: httpx.Client, route: str, method: str, path: str,
            **kwargs: Any) -> Answer:
        began = time.monotonic()
        try:
            response = http.request(method, path, **kwargs)
            status, body = response.status_code, _json(response)
            retry_after = response.headers.get("Retry-After")
        except httpx.HTTPError as error:
            status, body, retry_after = 0, repr(error), None
        answer = Answer(route, began, time.monotonic() - began, status, retry_after, body)
        self.answers.append(answer)
        return answer

    def run(self, route: str, method: str, path: str) -> None:
        """Send ``method path`` again and again (a write: a new product, with its own key)."""
        def loop() -> None:
            auth = {"Authorization": f"Bearer {self.token}"}
            with httpx.Client(base_url=self.url, headers=auth, timeout=30) as http:
                n = 0
                while not self.stopping.is_set():
                    n += 1
                    extra = {"json": {**PRODUCT_BODY, "name": f"{route}-{n}"},
                             "headers": {"Idempotency-Key": f"{route}-{n}"}} \
                        if method == "POST" else {}
                    self.ask(http, route, method, path, **extra)
                    time.sleep(0.05)

        thread = threading.Thread(target=loop)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def test_with_postgres_stopped_every_request_is_answered_503_and_writes_resume_when_it_is_back(
        tmp_path: Path, own_postgres: OwnPostgres) -> None:
    dsn = own_postgres.dsn
    token = first_admin(dsn, tmp_path / "cli")
    with replica(tmp_path, "a", dsn, PDL_STORE__CONNECT_TIMEOUT_S=str(CONNECT_TIMEOUT_S)) as a:
        with clients(token, a) as (api,):
            product = api.create_product()["id"]
        load = Load(a.url, token)
        load.run("write", "POST", "/products")
        load.run("write2", "POST", "/products")
        load.run("product", "GET", f"/products/{product}")
        load.run("audit", "GET", "/audit")
        load.run("livez", "GET", "/livez")
        load.run("readyz", "GET", "/readyz")
        try:
            time.sleep(1.5)
            own_postgres.stop()
            down_from = time.monotonic()
            time.sleep(DOWN_S)
            down_until = time.monotonic()
            own_postgres.start()
            back_at = time.monotonic()
            with httpx.Client(base_url=a.url, timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as http:
                first_write = None
                while time.monotonic() < back_at + BACK_WITHIN_S:
                    answer = load.ask(http, "recovery", "POST", "/products",
                                      json={**PRODUCT_BODY, "name": "recovery"},
                                      headers={"Idempotency-Key": "recovery"})
                    if answer.status == 201:
                        first_write = answer
                        break
                    time.sleep(0.2)
            time.sleep(1)
        finally:
            load.stop()
        written = [x for x in load.answers if x.route.startswith("write") and x.status == 201]
        with clients(token, a) as (api,):
            after = max(x.body["position"] for x in written) if written else 0
            products = api.read("/products", after=after)["items"]
            audit = whole_audit(api, after)

    assert first_write is not None, "no write succeeded within 15 s of PostgreSQL's return"
    slow = [x for x in load.answers if x.took > ANSWERED_WITHIN_S]
    assert slow == [], "requests answered late (or never)"
    wrong = [x for x in load.answers if x.route not in ("livez", "readyz")
             and not (200 <= x.status < 500 or (x.status == 503 and x.retry_after))]
    assert wrong == [], "answers neither 2xx/4xx nor 503 with Retry-After"
    assert {x.status for x in load.answers if x.route == "livez"} == {200}
    down = [x for x in load.answers
            if x.route == "readyz" and down_from < x.began and x.began + x.took < down_until]
    assert down and {x.status for x in down} == {503}
    unavailable = [x for x in load.answers if x.route.startswith("write") and x.status == 503
                   and down_from < x.began < down_until]
    assert unavailable, "no write was refused while PostgreSQL was down: it was not down"
    assert written
    acknowledged = {x.body["id"] for x in written} | {first_write.body["id"]}
    assert acknowledged <= {p["id"] for p in products}
    assert acknowledged <= {i["entity_id"] for i in audit}
    # What the server logged agrees with what it answered: no request ended in a crash
    # (an answer broken off after it began), none counted as a 500.
    logged = "".join(f.read_text() for f in (tmp_path / "logs").glob("stderr-*.txt"))
    assert "Exception in ASGI application" not in logged
    assert not re.findall(r"pdl\.access: \S+ \S+ 500 ", logged)
