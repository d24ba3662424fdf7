"""The sample list's filters and page number: parsed from the query string, turned into SQL and back into links.

Everything a list shows is in its URL, so a filtered, paged view can be shared by copying the address.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

POOLS = ("sft", "rl", "pairs", "none")
VERDICTS = ("accepted", "rejected", "not drafted")
PAGE_SIZE = 50
# No list has this many pages; the cap keeps LIMIT/OFFSET inside DuckDB's 64-bit integers whatever the URL says.
MAX_PAGE = 10**9


def page_number(value: str | None) -> int:
    """A 1-based page number from the query string, at most MAX_PAGE; anything that is not a number is page 1."""
    try:
        return min(MAX_PAGE, max(1, int(value or 1)))
    except ValueError:  # not a number, or more digits than Python converts
        return 1


def last_page(total: int, page_size: int = PAGE_SIZE) -> int:
    """The last page of a list of `total` rows (page 1 when it is empty)."""
    return max(1, -(-total // page_size))


def clamp_page(page: int, total: int, page_size: int = PAGE_SIZE) -> int:
    """`page` moved into 1..last page, so a page past the end shows the last rows rather than nothing."""
    return min(max(1, page), last_page(total, page_size))


@dataclass(frozen=True)
class SampleFilters:
    """What narrows the sample list. Empty strings mean 'any'."""

    pool: str = ""
    split: str = ""
    problem_type: str = ""
    verdict: str = ""
    reason: str = ""
    video: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> SampleFilters:
        """Build from `parse_qs` output; unknown pools and verdicts are ignored rather than matching nothing."""

        def one(key: str) -> str:
            return (query.get(key) or [""])[0].strip()

        pool = one("pool")
        verdict = one("verdict")
        return cls(
            pool=pool if pool in POOLS else "",
            split=one("split"),
            problem_type=one("problem_type"),
            verdict=verdict if verdict in VERDICTS else "",
            reason=one("reason"),
            video=one("video"),
            page=page_number(one("page")),
        )

    def where(self) -> tuple[str, list[Any]]:
        """A SQL condition over the sample rows (see queries.samples) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column in ("split", "problem_type", "verdict"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.reason:
            clauses.append("reject_reason = ?")
            params.append(self.reason)
        if self.video:
            clauses.append("video_id = ?")
            params.append(self.video)
        if self.pool == "none":
            clauses.append("NOT (in_sft OR in_rl OR in_pairs)")
        elif self.pool in POOLS:  # a column name, so only the known pools
            clauses.append(f"in_{self.pool}")
        elif self.pool:
            raise ValueError(f"unknown pool {self.pool!r}; pools are: {', '.join(POOLS)}")
        return (" AND ".join(clauses) or "TRUE"), params

    def query_string(self, **changes: Any) -> str:
        """The URL query for these filters with some changed (a filter change goes back to page 1)."""
        if any(k != "page" for k in changes):
            changes.setdefault("page", 1)
        new = replace(self, **changes)
        items = [(f.name, getattr(new, f.name)) for f in fields(new)]
        return urlencode([(k, v) for k, v in items if v and not (k == "page" and v == 1)])

    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "page")
