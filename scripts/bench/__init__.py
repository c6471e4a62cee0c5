"""Benchmark harness: speed as a measured property of the service, side by side with a floor.

Run it with `make bench` (or `.venv/bin/python -m scripts.bench.run`). It needs PostgreSQL on
postgresql://postgres@127.0.0.1:5432 (BENCH_PG to change) and wrk (`apt-get install -y wrk`); Postfix's smtp-sink
(`apt-get install -y postfix`) is the mail server of the outbox comparison when it is installed.

What it does
  1. Creates, migrates (alembic) and bulk-seeds a database per dataset size with scripts/seed_data.py
     (`bench_orders_<N>`, reused while the size matches; each run first deletes what earlier runs added),
     and gives 256 `BENCH-` products a stock that cannot run out.
  2. Starts the service as production does (uvicorn app.main:app, 2 workers, uvloop, httptools,
     ENVIRONMENT=production) and the floor (scripts/bench/floor.py: a bare ASGI app with a psycopg pool, the
     same SQL, the same JWT and session checks) with the same uvicorn settings and pool size.
  3. Logs in one customer per connection (BENCH_CONNECTIONS, default 32) through POST /auth/login; wrk
     (lua/plan.lua) replays a plan in which every request carries its own user's token.
  4. Per scenario: a 1 s warm-up each, then BENCH_ROUNDS rounds alternating ours / floor, so machine noise
     hits both; medians are reported. Scenarios: GET /users/me, GET /products, GET /orders (first page),
     GET /orders/{id}, POST /orders (2 lines over 256 products), the hot catalogue (the same over 8 products, a
     sale's peak; its throughput is also given as a share of the 256-product one), a mixed load (70% reads,
     20% orders placed, 10% other: order history and profile updates) and GET /analytics/summary over 30 and
     365 days (admin logins) on a dataset of 10,000,000 orders (BENCH_ANALYTICS_ORDERS), cached like the other
     (1,000,000 orders take 1.8 GB on disk, rollups included, so about 18 GB; seeded once, later runs reuse it).
  5. With the POST /orders scenario (BENCH_OUTBOX=0 skips it): the worker CPU per order of a second instance
     with EVENTS_URL (RabbitMQ at BENCH_AMQP, default amqp://guest:guest@127.0.0.1:5672/) and SMTP_HOST (Postfix's
     smtp-sink when installed, else an aiosmtpd sink in the bench process) set, against the plain instance, in
     alternation over three times the scenario's rounds (BENCH_OUTBOX_ROUNDS), each round's CPU read 1 s after
     its load stops so that the relay's sending of the round's last orders is counted: the outbox's overhead is
     the median of the rounds' ratios, each outbox round against the plain round just before it.
     BENCH_OUTBOX=events or =mail sets only that channel, to tell their shares apart.
  6. Extras (BENCH_EXTRAS=0 skips them): p99 at 70% of each scenario's peak under a paced, fixed-rate load
     (each connection pauses between requests, calibrated to the rate; this is not free of coordinated
     omission, as wrk2 would be); worker RSS growth across BENCH_GROWTH_REQUESTS mixed requests after
     warm-up; GET /users/me p99 while bursts of 32 concurrent logins run back to back, against its p99 alone.
  7. Prints the table (ours, floor, ratio, p50/p90/p99, errors = non-2xx + socket errors, the workers' CPU
     time per request from /proc/<pid>/stat, each worker's peak RSS from /proc VmHWM), writes BENCH_OUT
     (default bench-results.json) and markdown rows for docs/tradeoffs.md.

Knobs (environment)
  BENCH_SECONDS (30) measured seconds per scenario and app, split over BENCH_ROUNDS (5; fewer below 15 s)
  BENCH_ORDERS (100000) dataset of the request scenarios; BENCH_ANALYTICS_ORDERS (10000000)
  BENCH_SCENARIOS (all: me,products,orders,order,place,hot,mixed,summary,summary-year)  BENCH_CONNECTIONS (32)
  BENCH_GROWTH_REQUESTS (100000; 5000 when BENCH_SECONDS < 10)  BENCH_OUT  BENCH_PG
  BENCH_PROFILE=<scenario> records an extra, uncounted run under py-spy (both workers) as collapsed stacks
  in bench-profile-<scenario>.txt (`outbox`: the instance with the outbox's channels, after its rounds);
  `python -m scripts.bench.profile FILE` summarises one.

A quick run: BENCH_SECONDS=5 BENCH_ORDERS=20000 make bench (about 3 minutes once the datasets exist).
The machine's cores are shared by the load generator, PostgreSQL and both apps, so absolute figures move with
whatever else runs; the ratios, measured side by side in alternation, are the figures to compare.
"""
