# The monitor daemon: slim Python, a non-root user, health checked through its own /healthz.
# Build: docker build -t escalation-monitor .   Try it with PostgreSQL and Mailpit: docker compose up --build
# It listens beyond the container's loopback, so it needs a token for its page and API (or refuses to start):
#   docker run -e MONITOR_HTTP_TOKEN=<16+ characters> ...   (probes: /healthz, /readyz, /metrics need none)
FROM python:3.11-slim AS build
WORKDIR /src
# A C compiler for the scoring path compiled with mypyc (setup.py; about 1.4x the items/s, docs/scoring.md section 7).
# It stays in this stage: the final image gets the built modules, not the compiler. --build-arg MONITOR_MYPYC=0 builds
# the pure-Python package instead (the same scores, slower).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py README.md ./
COPY monitor ./monitor
COPY alerts ./alerts
# Wheels only into a prefix, so the final image has no build tools and no pip cache. The learned second opinion
# (monitor.yaml scoring.model, docs/scoring.md) needs the model extra, 91 MB more: --build-arg EXTRAS=postgres,model
ARG EXTRAS=postgres
ARG MONITOR_MYPYC=1
RUN MONITOR_MYPYC=${MONITOR_MYPYC} pip install --no-cache-dir --prefix=/install ".[${EXTRAS}]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MONITOR_CONFIG=/config \
    MONITOR_DATABASE_URL=sqlite:////data/monitor.db \
    MONITOR_HTTP_LISTEN=0.0.0.0:8787
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin monitor \
    && mkdir -p /data /config \
    && chown monitor:monitor /data
COPY --from=build /install /usr/local
# The shipped configuration; mount your own directory over /config (read-only is fine).
COPY config /config
USER monitor
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8787
# Exit code of `monitor health --check`: 0 while the event loop turns, 1 otherwise.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["monitor", "health", "--check"]
# SIGTERM drains in-flight polls and deliveries for shutdown_grace (20s): give `docker stop -t` more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["monitor"]
CMD ["run"]
