"""Figures out of the runs: medians across rounds, the printed table, the JSON file and markdown rows."""

import json
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.bench.load import WrkResult


@dataclass
class Outcome:
    key: str
    title: str
    ours: list[WrkResult] = field(default_factory=list)
    floor: list[WrkResult] = field(default_factory=list)
    ours_cpu_us: list[float] = field(default_factory=list)
    floor_cpu_us: list[float] = field(default_factory=list)
    ours_rss_mb: list[float] = field(default_factory=list)
    floor_rss_mb: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def median(self, side: str, attribute: str) -> float:
        runs: list[WrkResult] = getattr(self, side)
        return statistics.median(getattr(run, attribute) for run in runs) if runs else 0.0

    def cpu_us(self, side: str) -> float:
        """Median over the rounds of the workers' CPU time per request, in microseconds."""
        values: list[float] = getattr(self, f"{side}_cpu_us")
        return statistics.median(values) if values else 0.0

    @property
    def ratio(self) -> float:
        floor = self.median("floor", "rps")
        return self.median("ours", "rps") / floor if floor else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.title,
            "ours_rps": round(self.median("ours", "rps"), 1),
            "floor_rps": round(self.median("floor", "rps"), 1),
            "ratio": round(self.ratio, 3),
            "p50_ms": round(self.median("ours", "p50_ms"), 2),
            "p90_ms": round(self.median("ours", "p90_ms"), 2),
            "p99_ms": round(self.median("ours", "p99_ms"), 2),
            "errors": sum(run.errors for run in self.ours),
            "cpu_us_per_request": round(self.cpu_us("ours"), 1),
            "floor_cpu_us_per_request": round(self.cpu_us("floor"), 1),
            "rss_mb": [round(value, 1) for value in self.ours_rss_mb],
            "floor_p50_ms": round(self.median("floor", "p50_ms"), 2),
            "floor_p99_ms": round(self.median("floor", "p99_ms"), 2),
            "floor_errors": sum(run.errors for run in self.floor),
            "floor_rss_mb": [round(value, 1) for value in self.floor_rss_mb],
            "rounds": len(self.ours),
            **self.extra,
        }


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{model}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"


def print_table(outcomes: list[Outcome]) -> None:
    header = (
        f"{'scenario':<24}{'ours rps':>10}{'floor rps':>11}{'ratio':>7}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}"
        f"{'floor p99':>10}{'errors':>8}{'CPU us/req':>11}{'floor CPU':>10}  {'worker peak RSS MiB':<20}"
        f"{'p99 @70% ms':>12}"
    )
    print(header)
    print("-" * len(header))
    for item in outcomes:
        data = item.as_json()
        rss = "/".join(f"{value:.0f}" for value in data["rss_mb"])
        paced = f"{data['paced_p99_ms']:.1f}" if "paced_p99_ms" in data else "-"
        print(
            f"{item.title:<24}{data['ours_rps']:>10.0f}{data['floor_rps']:>11.0f}{data['ratio']:>7.2f}"
            f"{data['p50_ms']:>8.1f}{data['p90_ms']:>8.1f}{data['p99_ms']:>8.1f}{data['floor_p99_ms']:>10.1f}"
            f"{data['errors'] + data['floor_errors']:>8}{data['cpu_us_per_request']:>11.0f}"
            f"{data['floor_cpu_us_per_request']:>10.0f}  {rss:<20}{paced:>12}"
        )


def write_json(path: Path, outcomes: list[Outcome]) -> None:
    path.write_text(json.dumps([item.as_json() for item in outcomes], indent=2) + "\n")


def markdown_rows(outcomes: list[Outcome]) -> list[str]:
    today = datetime.now(UTC).date().isoformat()
    where = machine()
    rows = []
    for item in outcomes:
        data = item.as_json()
        rows.append(
            f"| {today} | {where} | {item.title} | {data['ours_rps']:.0f} | {data['floor_rps']:.0f} "
            f"| {data['ratio']:.2f} |"
        )
    return rows
