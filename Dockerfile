# The service's image. Two stages from the same BASE: `build` installs the pinned wheels into a virtualenv, adds the
# service's user and compiles the code; `runtime` only copies their results onto a fresh BASE. It has no RUN step,
# so nothing mounted for the build (a CA bundle, say) can leave a trace in it, and no compiler, pip or cache does.
# BASE is any image with Python 3.11+ and its venv module. Build and run: docs/deployment.md.
ARG BASE=docker.io/library/python:3.11-slim

FROM ${BASE} AS build
# Wheels only by default: every pinned dependency ships one for CPython on x86_64 and arm64, so this stage needs no
# compiler either. For a platform without wheels, pass --build-arg PIP_ONLY_BINARY=:none: and add a compiler here.
ARG PIP_ONLY_BINARY=:all:
# A CA bundle for an index reached through a TLS-intercepting proxy: mount it for the build only, e.g.
# `-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt`.
ARG PIP_CERT=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
COPY requirements.txt /tmp/requirements.txt
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-virtualenv -r /tmp/requirements.txt \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools
RUN if command -v useradd >/dev/null; then \
      groupadd --system --gid 10001 app \
      && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app; \
    else \
      addgroup -S -g 10001 app && adduser -S -D -H -h /app -u 10001 -G app -s /sbin/nologin app; \
    fi \
 && mkdir -p /empty
WORKDIR /app
COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
# Compiled here: the code is read-only to the service's user, and a cold start then skips compiling. The image never
# changes, so the bytecode is trusted as it is (unchecked-hash) instead of being checked against file times.
RUN /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash app alembic

FROM ${BASE} AS runtime
COPY --from=build /etc/passwd /etc/group /etc/
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/order-service
# Writable by the service: Prometheus' multiprocess files, and data/ for the SQLite file of a quick trial
# (production points DATABASE_URL at PostgreSQL).
COPY --from=build --chown=10001:10001 /empty /tmp/metrics
COPY --from=build --chown=10001:10001 /empty /app/data
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics \
    PORT=8000 \
    GRACEFUL_TIMEOUT=20
USER 10001:10001
EXPOSE 8000
# uvicorn drains on SIGTERM for up to GRACEFUL_TIMEOUT seconds: give the container a stop timeout above it
# (compose: stop_grace_period 30s; podman or docker run: --stop-timeout 30; Kubernetes: terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 CMD ["order-service", "healthcheck"]
ENTRYPOINT ["order-service"]
CMD ["serve"]
