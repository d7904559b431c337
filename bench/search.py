"""Search latency: sequential requests on one keep-alive connection, random values.

One connection and no concurrency, so each figure is the latency of one search as a user
sees it (server work plus loopback), not the server's throughput. Each kind draws fresh
random values from real patients (``synth.search_values``) so that the cache does not
answer repeated identical queries; the first-page ``Bundle.total`` is kept to show how
much each search matched.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

import httpx
import synth

KINDS = ("name", "identifier", "date")
EXAMPLES = {
    "name": "family=<prefix of a real family>[&given=<a real given>]",
    "identifier": f"identifier={synth.MRN_SYSTEM}|<MRN>",
    "date": "birthdate=geYYYY-MM-01&birthdate=lt<next month>",
}
WARMUP = 10
TIMEOUT = 30.0
"""Seconds before one search counts as failed; after MAX_FAILURES the kind is abandoned."""
MAX_FAILURES = 3


@dataclass
class SearchFigures:
    kind: str
    patients: int
    count: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    total_median: float
    total_min: int
    total_max: int
    errors: int


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (what wrk and most load tools report)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def time_searches(base: str, patients: int, kind: str, count: int, seed: int) -> SearchFigures:
    rnd = random.Random(seed)
    latencies: list[float] = []
    totals: list[int] = []
    errors = 0
    headers = {"Accept": "application/fhir+json"}
    with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT) as client:
        for number in range(WARMUP + count):
            _, params = synth.search_values(rnd, patients, kind)
            started = time.perf_counter()
            try:
                response = client.get("/Patient", params={**params, "_count": "20"})
            except httpx.TimeoutException:
                response = None
            elapsed = time.perf_counter() - started
            if response is None or response.status_code != 200:
                errors += 1
                if errors >= MAX_FAILURES:
                    break
                continue
            if number < WARMUP:
                continue
            latencies.append(elapsed * 1000)
            totals.append(response.json().get("total", -1))
    if not latencies:  # every search failed or timed out: say so in the table
        nan = float("nan")
        return SearchFigures(kind, patients, 0, nan, nan, nan, nan, -1, -1, errors)
    return SearchFigures(
        kind=kind,
        patients=patients,
        count=len(latencies),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        mean_ms=statistics.fmean(latencies),
        total_median=statistics.median(totals),
        total_min=min(totals),
        total_max=max(totals),
        errors=errors,
    )
