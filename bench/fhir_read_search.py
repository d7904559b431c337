"""Benchmark of pacsbridge's FHIR server: read by id against a bare Starlette baseline,
and Patient search latency at 10,000 and at the full number of patients.

    python bench/fhir_read_search.py --database sqlite --patients 100000 --others 300000
    python bench/fhir_read_search.py --patients 2000 --others 6000          # quick try

Loads in stages (10,000 patients first when the target is larger, then the rest), times
the searches at each stage, and at the last stage runs wrk against pacsbridge and the
baseline alternately (A B A B). Prints the ratios first, then the tables; writes the same
markdown to ``bench/results/latest.md``. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402
import search  # noqa: E402
import servers  # noqa: E402
import synth  # noqa: E402

import pacsbridge  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_STAGE = 10_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=300_000)
    parser.add_argument("--searches", type=int, default=300, help="timed requests per kind")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=2, help="A B rounds of the read test")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--fresh", action="store_true", help="ignore the cached SQLite stages")
    return parser.parse_args()


def machine(database: str) -> str:
    if database == "sqlite":
        import sqlite3

        version = f"SQLite {sqlite3.sqlite_version}"
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(load.PG_ADMIN)
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
        version = f"PostgreSQL {version}"
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    code = Path(pacsbridge.__file__).resolve().parent
    return (f"{cpus} cores, {platform.platform()}, Python {platform.python_version()}, "
            f"{version}, wrk {wrk_version[1] if len(wrk_version) > 1 else '?'}; "
            f"pacsbridge {pacsbridge.__version__} from {code}")  # fmt: skip


def read_benchmark(args: argparse.Namespace, loaded: load.Loaded) -> list[str]:
    """wrk against pacsbridge (A) and the baseline (B), alternating, one at a time."""
    ids = RESULTS / f"ids-{loaded.patients}.txt"
    load.write_ids(ids, loaded.patients)
    runs: dict[str, list[servers.WrkResult]] = {"pacsbridge": [], "baseline": []}
    for round_number in range(args.rounds):
        for kind in ("pacsbridge", "baseline"):
            with servers.running(kind, loaded, synth.patient_id(0)) as server:
                servers.wrk(server, ids, args.threads, args.connections, 3)  # warm-up
                result = servers.wrk(server, ids, args.threads, args.connections, args.duration)
            runs[kind].append(result)
            print(f"  read round {round_number + 1} {kind:<10} {result.rps:8.0f} req/s  "
                  f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                  f"errors {result.errors}", file=sys.stderr)  # fmt: skip
    rps = {k: statistics.fmean(r.rps for r in v) for k, v in runs.items()}
    p50 = {k: statistics.fmean(r.p50_ms for r in v) for k, v in runs.items()}
    p99 = {k: statistics.fmean(r.p99_ms for r in v) for k, v in runs.items()}
    lines = [
        f"### Read by id, {loaded.patients:,} patients + {loaded.others:,} others "
        f"(wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
        f"{args.rounds}x A/B, means of the runs)",
        "",
        "| server | req/s | p50 ms | p99 ms | runs req/s | runs p99 ms | errors |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for kind, results in runs.items():
        each_rps = " / ".join(f"{r.rps:.0f}" for r in results)
        each_p99 = " / ".join(f"{r.p99_ms:.1f}" for r in results)
        errors = sum(r.errors for r in results)
        lines.append(f"| {kind} | {rps[kind]:.0f} | {p50[kind]:.2f} | {p99[kind]:.2f} | "
                     f"{each_rps} | {each_p99} | {errors} |")  # fmt: skip
    ratio = rps["pacsbridge"] / rps["baseline"]
    lines += ["", f"Throughput ratio pacsbridge/baseline: **{ratio:.2f}** (goal >= 0.80); "
              f"p99 {p99['pacsbridge']:.2f} ms vs {p99['baseline']:.2f} ms "
              f"(x{p99['pacsbridge'] / p99['baseline']:.2f})."]  # fmt: skip
    return lines


def search_table(figures: list[search.SearchFigures], count: int) -> list[str]:
    lines = [
        f"### Patient search latency ({count} sequential requests per kind, one "
        "connection, random values, `_count=20`)",
        "",
        "| search | patients | p50 ms | p99 ms | mean ms | total median [min-max] | failed |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for f in figures:
        matched = f"{f.total_median:g} [{f.total_min}-{f.total_max}]"
        lines.append(
            f"| {f.kind} | {f.patients:,} | {f.p50_ms:.2f} | {f.p99_ms:.2f} | "
            f"{f.mean_ms:.2f} | {matched} | {f.errors} |"
        )
    lines += [
        "",
        f"A search slower than {search.TIMEOUT:g} s counts as failed; after "
        f"{search.MAX_FAILURES} failures the kind is abandoned (its figures: nan).",
    ]
    lines += ["", "Queries: " + "; ".join(f"{k}: `{v}`" for k, v in search.EXAMPLES.items())]
    return lines


def summary(read_lines: list[str], figures: list[search.SearchFigures]) -> list[str]:
    """The ratios, first: read cost of FHIR, search p50 at the top and its growth."""
    lines = ["## Ratios", "", "- read: " + read_lines[-1]]
    stages = sorted({f.patients for f in figures})
    for kind in search.KINDS:
        by_stage = {f.patients: f for f in figures if f.kind == kind}
        top = by_stage[stages[-1]]
        text = f"- search {kind}: p50 {top.p50_ms:.2f} ms at {stages[-1]:,} (goal <= 10 ms)"
        if len(stages) > 1:
            low = by_stage[stages[0]]
            text += (f", growth p50 x{top.p50_ms / low.p50_ms:.2f} and p99 "
                     f"x{top.p99_ms / low.p99_ms:.2f} from {stages[0]:,}")  # fmt: skip
        lines.append(text)
    return lines


def main() -> None:
    args = parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stages = [FIRST_STAGE, args.patients] if args.patients > FIRST_STAGE else [args.patients]
    figures: list[search.SearchFigures] = []
    load_lines: list[str] = []
    read_lines: list[str] = []
    previous: load.Loaded | None = None
    if args.fresh:
        load.clear_cache(RESULTS)
    started = datetime.now(UTC)
    try:
        for stage in stages:
            others = args.others * stage // args.patients
            print(f"stage {stage:,} patients + {others:,} others ({args.database})",
                  file=sys.stderr)  # fmt: skip
            loaded = load.ensure_stage(args.database, RESULTS, previous, stage, others)
            if loaded.rate:
                load_lines.append(f"| {stage:,} + {others:,} | {loaded.loaded:,} | "
                                  f"{loaded.seconds:.0f} | {loaded.rate:,.0f} |")  # fmt: skip
            with servers.running("pacsbridge", loaded, synth.patient_id(0)) as server:
                for number, kind in enumerate(search.KINDS):
                    result = search.time_searches(server.base, stage, kind, args.searches,
                                                  seed=stage + number)  # fmt: skip
                    figures.append(result)
                    print(f"  search {kind:<10} p50 {result.p50_ms:6.2f} ms  p99 "
                          f"{result.p99_ms:7.2f} ms  total~{result.total_median:g}",
                          file=sys.stderr)  # fmt: skip
            if args.database == "postgresql" and (stray := load.cancel_stray_queries()):
                print(f"  cancelled {stray} search(es) still running in PostgreSQL",
                      file=sys.stderr)  # fmt: skip
            if stage == stages[-1]:
                read_lines = read_benchmark(args, loaded)
            previous = loaded
    finally:
        if args.database == "postgresql" and not args.keep:
            load.recreate_postgres(drop_only=True)
    command = "python bench/fhir_read_search.py " + " ".join(sys.argv[1:])
    out = [f"# pacsbridge FHIR benchmark, {started:%Y-%m-%d %H:%M} UTC", "",
           f"Command: `{command}`  ", f"Machine: {machine(args.database)}", ""]  # fmt: skip
    out += summary(read_lines, figures) + ["", *read_lines, ""]
    out += search_table(figures, args.searches)
    out += ["", "### Load through the store API (batches of "
            f"{load.BATCH} per transaction; cached stages are not reloaded)", ""]  # fmt: skip
    out += ["| stage | resources loaded | seconds | resources/s |", "|---|---:|---:|---:|"]
    out += load_lines or ["| (all stages from cache) | | | |"]
    text = "\n".join(out) + "\n"
    print(text)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / f"{args.database}-{args.patients}.md").write_text(text)


if __name__ == "__main__":
    main()
