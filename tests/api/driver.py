"""A small driver for the HTTP API, so tests read like the scenario they tell (the bodies
it sends come from :mod:`tests.support.builders`)."""

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.builders import PRODUCT_BODY, feature_body


@dataclass
class Api:
    """Requests as one token's holder; every write's outcome is checked and returned."""

    http: httpx.Client | Any  # a TestClient is an httpx.Client
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def post(self, path: str, body: Any = None, **headers: str) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers(**headers))

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers())

    def write(self, path: str, body: Any, **headers: str) -> dict[str, Any]:
        response = self.post(path, body, **headers)
        assert response.status_code in (200, 201), response.text
        outcome: dict[str, Any] = response.json()
        return outcome

    def read(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    # The vocabulary of the scenarios

    def create_product(self, **fields: Any) -> dict[str, Any]:
        return self.write("/products", {**PRODUCT_BODY, **fields})

    def propose(self, product_id: str, title: str, priority: float = 0) -> dict[str, Any]:
        return self.write(f"/products/{product_id}/features", feature_body(title, priority))

    def new_feature(self, title: str = "Share roadmaps", priority: float = 1) -> tuple[str, str]:
        """A feature proposed for a new product: the product's id and the feature's."""
        product = self.create_product()["id"]
        return product, self.propose(product, title, priority)["id"]

    def plan(self, product_id: str, name: str, target_date: str) -> dict[str, Any]:
        return self.write(f"/products/{product_id}/releases",
                          {"name": name, "target_date": target_date})

    def schedule(self, feature_id: str, release_id: str, rationale: str,
                 evidence: list[str] | None = None) -> dict[str, Any]:
        return self.write(f"/features/{feature_id}/schedule",
                          {"release_id": release_id, "rationale": rationale,
                           "evidence": evidence or []})

    def slip(self, release_id: str, target_date: str, rationale: str) -> dict[str, Any]:
        return self.write(f"/releases/{release_id}/target-date",
                          {"target_date": target_date, "rationale": rationale})

    def set_status(self, feature_id: str, status: str, rationale: str) -> dict[str, Any]:
        return self.write(f"/features/{feature_id}/status",
                          {"status": status, "rationale": rationale})

    def ship(self, release_id: str, shipped_on: str, rationale: str) -> dict[str, Any]:
        return self.write(f"/releases/{release_id}/ship",
                          {"shipped_on": shipped_on, "rationale": rationale})
