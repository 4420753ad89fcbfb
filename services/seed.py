"""``integra seed``: demo data loaded through the public GraphQL API, idempotently.

A shop that exists already (by name) is reused; a shop that has a score already gets no new
assessment. Running it twice leaves the same data as running it once.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger("integra.seed")

Json = dict[str, Any]

DEMO_SHOPS: list[Json] = [
    {
        "shop": {"name": "Northwind Gadgets", "url": "https://northwind.example", "segment": "B2C electronics"},
        "assessment": {
            "assessor": "demo",
            "criteria": {"U": 70, "C": 50, "T": 88, "L": 75, "S": 65, "M": 70, "E": 5},
            "interactivity": {"product": [20, 20, 10, 10, 10, 8, 5], "communicative": [50, 10, 10, 5, 0]},
            "relevance": {
                "searchEngines": [
                    {"name": "Google", "share": 0.7, "rating": 80},
                    {"name": "Bing", "share": 0.2, "rating": 60},
                    {"name": "DuckDuckGo", "share": 0.1, "rating": 40},
                ],
                "catalogues": [
                    {"name": "ShopCompare", "share": 0.5, "rating": 70},
                    {"name": "PriceList", "share": 0.5, "rating": 50},
                ],
            },
        },
    },
    {
        "shop": {"name": "Bluebell Books", "url": "https://bluebell.example", "segment": "B2C books"},
        "assessment": {
            "assessor": "demo",
            "criteria": {"U": 88, "I": 72, "R": 91, "C": 95, "T": 80, "L": 90, "S": 86, "M": 84, "E": 0},
        },
    },
    {
        "shop": {"name": "Cedar Home", "url": "https://cedar-home.example", "segment": "B2C furniture"},
        "assessment": {
            "assessor": "demo",
            "criteria": {"U": 60, "I": 45, "R": 52, "C": 58, "T": 49, "L": 62, "S": 70, "M": 40, "E": 15},
        },
    },
    {
        "shop": {"name": "Atlas Parts", "url": "https://atlas-parts.example", "segment": "B2B spare parts"},
        "assessment": {
            "assessor": "demo",
            "criteria": {"U": 75, "I": 68, "R": 77, "C": 70, "T": 82, "L": 79, "S": 74, "M": 66, "E": 2},
        },
    },
    {
        "shop": {"name": "Fjord Outdoor", "url": "https://fjord.example", "segment": "B2C sports"},
        "assessment": None,
    },
]  # fmt: skip

_SHOPS = "query($offset: Int!) { shops(limit: 100, offset: $offset) { totalCount items { id name score { id } } } }"
_CREATE = "mutation($input: CreateShopInput!) { createShop(input: $input) { id name } }"
_ASSESS = "mutation($input: RecordAssessmentInput!) { recordAssessment(input: $input) { id sh } }"


class _GraphQL:
    """Posts operations to one GraphQL endpoint; any error stops the seeding."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client = client
        self.url = url

    def __call__(self, query: str, variables: Json) -> Json:
        response = self.client.post(self.url, json={"query": query, "variables": variables})
        response.raise_for_status()
        answer: Json = response.json()
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        data: Json = answer["data"]
        return data


def _existing(call: _GraphQL) -> dict[str, Json]:
    shops: dict[str, Json] = {}
    offset = 0
    while True:
        page = call(_SHOPS, {"offset": offset})["shops"]
        shops.update({s["name"].casefold(): s for s in page["items"]})
        offset += len(page["items"])
        if not page["items"] or offset >= page["totalCount"]:
            return shops


def seed(url: str, headers: dict[str, str] | None = None) -> int:
    """Load the demo shops and assessments through the GraphQL API at ``url`` (sending
    ``headers``, e.g. the ADMIN key); exit code."""
    with httpx.Client(timeout=30, headers=headers) as client:
        call = _GraphQL(client, url)
        existing = _existing(call)
        for demo in DEMO_SHOPS:
            name = demo["shop"]["name"]
            shop = existing.get(name.casefold())
            if shop is None:
                shop = call(_CREATE, {"input": demo["shop"]})["createShop"]
                shop["score"] = None
                log.info("created shop %s", name)
            if demo["assessment"] is not None and shop["score"] is None:
                assessment = {**demo["assessment"], "shopId": shop["id"]}
                result = call(_ASSESS, {"input": assessment})["recordAssessment"]
                log.info("assessed %s: SH %.1f", name, result["sh"])
    print(f"seeded {len(DEMO_SHOPS)} demo shops at {url}")
    return 0
