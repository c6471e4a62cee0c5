"""Entry point of the benchmark: `make bench`, or `.venv/bin/python -m scripts.bench.run`. See __init__.py."""

import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from scripts.bench import dataset, load, report, scenarios
from scripts.bench.dataset import BULK_PASSWORD, Dataset
from scripts.bench.report import Outcome
from scripts.bench.scenarios import SCENARIOS, Context, Scenario, VirtualUser
from scripts.bench.servers import ROOT, Server
from scripts.processes import free_port, stop

TOKEN_MAX_AGE_SECONDS = 300  # access tokens live 15 minutes; log in again well before that
OUTBOX_SETTLE_SECONDS = 1.0  # two of the relay's polls (OUTBOX_POLL_SECONDS, 0.5 s)
BURST_LOGINS = 32


@dataclass(frozen=True)
class Config:
    seconds: int
    rounds: int
    orders: int
    analytics_orders: int
    connections: int
    growth_requests: int
    extras: bool
    selected: tuple[str, ...]
    out: Path
    profile: str

    @classmethod
    def from_env(cls) -> "Config":
        seconds = int(os.environ.get("BENCH_SECONDS", "30"))
        orders = int(os.environ.get("BENCH_ORDERS", "100000"))
        # Several short rounds rather than a few long ones: uvicorn's workers share one listening socket, and the
        # connections wrk opens at once can land unevenly on them (even all on one); medians absorb that.
        rounds = int(os.environ.get("BENCH_ROUNDS", str(min(5, max(2, seconds // 3)))))
        keys = os.environ.get("BENCH_SCENARIOS", ",".join(s.key for s in SCENARIOS))
        return cls(
            seconds=seconds,
            rounds=rounds,
            orders=orders,
            analytics_orders=int(os.environ.get("BENCH_ANALYTICS_ORDERS", "10000000")),
            connections=int(os.environ.get("BENCH_CONNECTIONS", "32")),
            growth_requests=int(os.environ.get("BENCH_GROWTH_REQUESTS", "100000" if seconds >= 10 else "5000")),
            extras=os.environ.get("BENCH_EXTRAS", "1") != "0",
            selected=tuple(key.strip() for key in keys.split(",") if key.strip()),
            out=Path(os.environ.get("BENCH_OUT", "bench-results.json")),
            profile=os.environ.get("BENCH_PROFILE", ""),
        )

    @property
    def slice_seconds(self) -> int:
        return max(2, self.seconds // self.rounds)


class Bench:
    def __init__(self, config: Config, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.key = secrets.token_urlsafe(48)
        self.paced_delay: dict[str, float] = {}

    def server_env(self, data: Dataset) -> dict[str, str]:
        return {
            "ENVIRONMENT": "production",
            "JWT_SECRET_KEY": self.key,
            "DATABASE_URL": data.url,
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            # The same pool settings for both apps (12 connections per worker, 4 more when busy), stated rather than
            # left to defaults: both apps stay up during a run and must fit PostgreSQL's max_connections (100)
            # together, the service with its two pools (reads and writes) per worker.
            "DATABASE_POOL_SIZE": "12",
            "DATABASE_MAX_OVERFLOW": "4",
        }

    @contextmanager
    def servers(self, data: Dataset) -> Iterator[tuple[Server, Server]]:
        env = self.server_env(data)
        ours = Server("ours", "app.main:app", env, self.workdir)
        floor = Server("floor", "scripts.bench.floor:app", env, self.workdir)
        try:
            ours.launch()
            floor.launch()
            ours.wait_ready()
            floor.wait_ready()
            yield ours, floor
        finally:
            ours.stop()
            floor.stop()
            if "Traceback" in ours.log_text():
                print(f"  warning: tracebacks in the service's log: {ours.log_path}")

    def measure(self, scenario: Scenario, ours: Server, floor: Server, lines: list[str]) -> Outcome | None:
        plan = load.write_plan(self.workdir / f"{scenario.key}.plan", lines)
        try:
            scenarios.check(ours.base_url, lines)
            scenarios.check(floor.base_url, lines)
        except RuntimeError as exc:
            print(f"  {scenario.title}: skipped, its requests fail: {exc}")
            return None
        outcome = Outcome(scenario.key, scenario.title)
        conns = self.config.connections
        for server in (ours, floor):  # warm-up, not counted
            load.run(server.base_url, plan, seconds=1, connections=conns)
        for _ in range(self.config.rounds):
            for server, runs, cpu in (
                (ours, outcome.ours, outcome.ours_cpu_us),
                (floor, outcome.floor, outcome.floor_cpu_us),
            ):
                before = server.cpu_seconds()
                result = load.run(server.base_url, plan, seconds=self.config.slice_seconds, connections=conns)
                runs.append(result)
                cpu.append((server.cpu_seconds() - before) / max(result.requests, 1) * 1e6)
        outcome.ours_rss_mb = ours.memory_mb("VmHWM")
        outcome.floor_rss_mb = floor.memory_mb("VmHWM")
        if self.config.profile == scenario.key:
            self.profile(scenario.key, scenario.title, ours, plan)
        if self.config.extras:
            self.paced(outcome, ours, plan)
        print(f"  {scenario.title}: ours {outcome.median('ours', 'rps'):.0f}/s, floor "
              f"{outcome.median('floor', 'rps'):.0f}/s, ratio {outcome.ratio:.2f}")  # fmt: skip
        return outcome

    def outbox_overhead(self, ours: Server, data: Dataset, lines: list[str]) -> dict[str, float]:
        """Worker CPU per placed order without and with the outbox's channels (EVENTS_URL and SMTP_HOST set).

        A second instance of the service sends every order's event to RabbitMQ (BENCH_AMQP) and its confirmation
        mail to an SMTP sink in this process; its relay runs in its workers, so its CPU is counted. The two
        instances run the same plan in alternation, like ours and the floor.
        """
        amqp = os.environ.get("BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
        port = free_port()
        sink = _mail_sink(port)
        env = {**self.server_env(data), "EVENTS_URL": amqp, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
               "SMTP_STARTTLS": "false"}  # fmt: skip
        channel = os.environ.get("BENCH_OUTBOX", "1")  # `events` or `mail`: that channel alone
        if channel == "events":
            env.pop("SMTP_HOST")
        elif channel == "mail":
            env.pop("EVENTS_URL")
        relaying = Server("ours-outbox", "app.main:app", env, self.workdir)
        plan = load.write_plan(self.workdir / "outbox.plan", lines)
        plain_cpu: list[float] = []
        outbox_cpu: list[float] = []
        plain_rps: list[float] = []
        outbox_rps: list[float] = []
        # Three times the scenario's rounds: one round's ratio moves by ±20 % on a shared machine, and the
        # overhead is the median of the rounds' ratios.
        rounds = int(os.environ.get("BENCH_OUTBOX_ROUNDS", str(3 * self.config.rounds)))
        try:
            relaying.launch()
            relaying.wait_ready()
            conns = self.config.connections
            load.run(relaying.base_url, plan, seconds=1, connections=conns)  # warm-up
            time.sleep(OUTBOX_SETTLE_SECONDS)
            for _ in range(rounds):
                for server, cpu, rps in ((ours, plain_cpu, plain_rps), (relaying, outbox_cpu, outbox_rps)):
                    before = server.cpu_seconds()
                    result = load.run(server.base_url, plan, seconds=self.config.slice_seconds, connections=conns)
                    # The relay sends the round's last orders after the load stops: their cost counts too.
                    time.sleep(OUTBOX_SETTLE_SECONDS)
                    cpu.append((server.cpu_seconds() - before) / max(result.requests, 1) * 1e6)
                    rps.append(result.rps)
            if self.config.profile == "outbox":
                self.profile("outbox", "POST /orders with the outbox's channels", relaying, plan)
        finally:
            relaying.stop()
            sink()
        plain, with_outbox = statistics.median(plain_cpu), statistics.median(outbox_cpu)
        # Each outbox round against the plain round just before it: the machine's drift cancels in the pair.
        ratios = [outbox / plain_round - 1 for outbox, plain_round in zip(outbox_cpu, plain_cpu, strict=True)]
        overhead = statistics.median(ratios) * 100
        channels = {"events": "EVENTS_URL", "mail": "SMTP_HOST"}.get(channel, "EVENTS_URL and SMTP_HOST")
        outbox_rate, plain_rate = statistics.median(outbox_rps), statistics.median(plain_rps)
        print(f"  POST /orders with {channels}: {overhead:+.1f}% worker CPU per order (median of {rounds} paired "
              f"rounds); medians {with_outbox:.0f} us with, {plain:.0f} us without; {outbox_rate:.0f}/s vs "
              f"{plain_rate:.0f}/s")  # fmt: skip
        print(f"    round by round (each against the plain round just before it): "
              f"{', '.join(f'{ratio:+.1%}' for ratio in ratios)}")  # fmt: skip
        return {
            "outbox_cpu_us": round(with_outbox, 1),
            "plain_cpu_us": round(plain, 1),
            "outbox_cpu_overhead_pct": round(overhead, 1),
            "outbox_rps": round(outbox_rate, 1),
            "plain_rps": round(plain_rate, 1),
            "outbox_cpu_us_rounds": [round(value, 1) for value in outbox_cpu],
            "plain_cpu_us_rounds": [round(value, 1) for value in plain_cpu],
        }

    def paced(self, outcome: Outcome, ours: Server, plan: Path) -> None:
        """p99 at 70% of the peak: each connection pauses between requests, calibrated to hit the rate."""
        conns, target = self.config.connections, 0.7 * outcome.median("ours", "rps")
        if target <= 0:
            return
        first_delay = conns / target * 1000
        calibration = load.run(ours.base_url, plan, seconds=1, connections=conns, delay_ms=first_delay)
        latency_ms = max(0.0, conns / max(calibration.rps, 1e-9) * 1000 - first_delay)
        delay = max(0.5, conns / target * 1000 - latency_ms)
        result = load.run(
            ours.base_url, plan, seconds=max(3, self.config.slice_seconds), connections=conns, delay_ms=delay
        )
        self.paced_delay[outcome.key] = delay
        outcome.extra.update(
            paced_target_rps=round(target, 1),
            paced_rps=round(result.rps, 1),
            paced_p50_ms=round(result.p50_ms, 2),
            paced_p99_ms=round(result.p99_ms, 2),
            paced_errors=result.errors,
        )

    def profile(self, key: str, title: str, ours: Server, plan: Path) -> None:
        """An extra, uncounted run under py-spy (both workers), as collapsed stacks for reading or flame graphs."""
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        target = ROOT / f"bench-profile-{key}.txt"
        seconds = self.config.slice_seconds
        supervisor = ours.process.pid if ours.process else 0
        command = [spy, "record", "--pid", str(supervisor), "--subprocesses", "--rate", "200", "--nonblocking",
                   "--duration", str(seconds + 1), "--format", "raw", "--output", str(target)]  # fmt: skip
        recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        load.run(ours.base_url, plan, seconds=seconds, connections=self.config.connections)
        recorder.wait(60)
        print(f"  profile of {title}: {target}")

    def growth(self, ours: Server, lines: list[str], mixed_rps: float) -> dict[str, float]:
        """Worker RSS before and after a fixed number of mixed requests, once warmed up."""
        plan = load.write_plan(self.workdir / "growth.plan", lines)
        requests = self.config.growth_requests
        before = ours.memory_mb("VmRSS")
        seconds = int(requests / max(mixed_rps, 1.0) * 1.15) + 2
        result = load.run(
            ours.base_url, plan, seconds=seconds, connections=self.config.connections, max_requests=requests
        )
        after = ours.memory_mb("VmRSS")
        growth = max((a - b) / b * 100 for a, b in zip(after, before, strict=True))
        print(f"  RSS across {result.requests:,} mixed requests: {_mb(before)} -> {_mb(after)} MiB "
              f"(max growth {growth:.1f}%)")  # fmt: skip
        return {
            "growth_requests": result.requests,
            "rss_before_mb": [round(v, 1) for v in before],
            "rss_after_mb": [round(v, 1) for v in after],
            "rss_growth_pct": round(growth, 2),
        }

    def burst(self, ours: Server, lines: list[str], delay_ms: float, data: Dataset) -> dict[str, float]:
        """GET /users/me at 70% load, alone and while bursts of 32 concurrent logins run back to back."""
        plan = load.write_plan(self.workdir / "burst.plan", lines)
        seconds, conns = max(3, self.config.slice_seconds), self.config.connections
        emails = dataset.buyers(data, BURST_LOGINS, skip=conns)
        quiet = load.run(ours.base_url, plan, seconds=seconds, connections=conns, delay_ms=delay_ms)
        stop, bursts = threading.Event(), [0]

        def keep_bursting() -> None:
            with ThreadPoolExecutor(BURST_LOGINS) as pool:
                while not stop.is_set():
                    list(pool.map(lambda email: scenarios.login(ours.base_url, email, BULK_PASSWORD), emails))
                    bursts[0] += 1

        burster = threading.Thread(target=keep_bursting)
        burster.start()
        try:
            busy = load.run(ours.base_url, plan, seconds=seconds, connections=conns, delay_ms=delay_ms)
        finally:
            stop.set()
            burster.join()
        ratio = busy.p99_ms / quiet.p99_ms if quiet.p99_ms else 0.0
        print(f"  GET /users/me p99 {quiet.p99_ms:.1f} ms alone, {busy.p99_ms:.1f} ms during {bursts[0]} bursts "
              f"of {BURST_LOGINS} logins (x{ratio:.2f})")  # fmt: skip
        return {
            "rss_peak_after_bursts_mb": [round(v, 1) for v in ours.memory_mb("VmHWM")],
            "burst_p99_quiet_ms": round(quiet.p99_ms, 2),
            "burst_p99_ms": round(busy.p99_ms, 2),
            "burst_p99_ratio": round(ratio, 2),
            "burst_count": bursts[0],
        }


def _mail_sink(port: int) -> Callable[[], None]:
    """An SMTP server on `port` that accepts every mail and keeps none; returns what stops it.

    Postfix's `smtp-sink` (a C program made for this: `apt-get install postfix` brings it) when it is installed:
    it answers a pipelined group in one write, as Postfix's own server does, for about 20 µs of CPU per mail.
    Otherwise aiosmtpd in this process, which answers each command on its own and spends about 600 µs of CPU per
    mail on the cores the workers run on, so the relaying instance measures higher.
    """
    binary = shutil.which("smtp-sink") or shutil.which("smtp-sink", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        print("  mail sink: aiosmtpd in the bench process (no smtp-sink: apt-get install postfix)")
        controller = Controller(_Discard(), hostname="127.0.0.1", port=port)
        controller.start()
        return controller.stop
    user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
    process = subprocess.Popen(
        [binary, *user, f"127.0.0.1:{port}", "256"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while not _accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("smtp-sink did not start")
        time.sleep(0.05)
    print(f"  mail sink: {binary}")
    return lambda: stop(process)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class _Discard:
    """An SMTP server's handler that accepts every mail and keeps none, and offers PIPELINING, as the usual mail
    servers (Postfix, Exim, the hosted services) do."""

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def _mb(values: list[float]) -> str:
    return "/".join(f"{value:.0f}" for value in values)


def run_requests(bench: Bench, data: Dataset, chosen: list[Scenario]) -> list[Outcome]:
    config, outcomes = bench.config, []
    dataset.reset(data)
    users = [VirtualUser(email=email) for email in dataset.buyers(data, config.connections)]
    for email, ids in dataset.order_ids_by_user(data, [user.email for user in users]).items():
        next(user for user in users if user.email == email).order_ids = ids
    context = Context(dataset=data, users=users, product_ids=dataset.bench_product_ids(data))
    with bench.servers(data) as (ours, floor):
        logged_in: float | None = None  # not 0.0: the monotonic clock may start near zero at boot
        for scenario in chosen:
            if logged_in is None or time.monotonic() - logged_in > TOKEN_MAX_AGE_SECONDS:
                scenarios.log_in_customers(ours.base_url, users)
                logged_in = time.monotonic()
            outcome = bench.measure(scenario, ours, floor, scenario.build(context))
            if outcome is not None:
                outcomes.append(outcome)
        by_key = {item.key: item for item in outcomes}
        if "hot" in by_key and "place" in by_key:
            spread = by_key["place"].median("ours", "rps")
            by_key["hot"].extra["ours_vs_256_products"] = round(by_key["hot"].median("ours", "rps") / spread, 3)
        if "place" in by_key and os.environ.get("BENCH_OUTBOX", "1") != "0":
            scenarios.log_in_customers(ours.base_url, users)
            place = next(s for s in chosen if s.key == "place")
            by_key["place"].extra.update(bench.outbox_overhead(ours, data, place.build(context)))
        if config.extras:
            scenarios.log_in_customers(ours.base_url, users)
            by_key = {item.key: item for item in outcomes}
            mixed_rps = by_key["mixed"].median("ours", "rps") if "mixed" in by_key else 500.0
            growth = bench.growth(ours, scenarios.mixed(context), mixed_rps)
            if "mixed" in by_key:
                by_key["mixed"].extra.update(growth)
            if "me" in bench.paced_delay:
                by_key["me"].extra.update(bench.burst(ours, scenarios.me(context), bench.paced_delay["me"], data))
    return outcomes


def run_analytics(bench: Bench, data: Dataset, scenario: Scenario) -> Outcome | None:
    dataset.reset(data)
    with bench.servers(data) as (ours, floor):
        users = scenarios.admin_logins(ours.base_url, bench.config.connections)
        context = Context(dataset=data, users=users, product_ids=[])
        return bench.measure(scenario, ours, floor, scenario.build(context))


def main() -> int:
    config = Config.from_env()
    load.require_wrk()
    try:
        psycopg.connect(f"{dataset.SERVER_URL}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        sys.exit(f"PostgreSQL is not reachable at {dataset.SERVER_URL} (set BENCH_PG): {exc}")
    started = time.monotonic()
    chosen = [s for s in SCENARIOS if s.key in config.selected]
    print(f"bench: {config.rounds} rounds x {config.slice_seconds} s per scenario and app, "
          f"{config.connections} connections (one login each), 2 workers each, on {report.machine()}")  # fmt: skip
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    bench = Bench(config, workdir)
    base_env = {"ENVIRONMENT": "production", "JWT_SECRET_KEY": bench.key}
    request_scenarios = [s for s in chosen if not s.admin]
    outcomes: list[Outcome] = []
    if request_scenarios:
        outcomes += run_requests(bench, dataset.ensure(config.orders, base_env), request_scenarios)
    for scenario in (s for s in chosen if s.admin):
        outcome = run_analytics(bench, dataset.ensure(config.analytics_orders, base_env), scenario)
        if outcome is not None:
            outcomes.append(outcome)
    print()
    report.print_table(outcomes)
    report.write_json(config.out, outcomes)
    print("\nmarkdown rows for docs/tradeoffs.md:")
    print("\n".join(report.markdown_rows(outcomes)))
    print(f"\nresults: {config.out}; server logs: {workdir}; took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
