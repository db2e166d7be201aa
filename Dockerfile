# One image for every OMS process: `oms api` (default), `oms worker --queues ...`,
# `oms carrier`, `oms smtp-sink`, `oms codec-server`, `oms db --no-seed`.
# See docker-compose.temporal.yml and docs/deploy.md.
#
# Dependencies come pinned from a lockfile in requirements/ (`make lock` regenerates them):
# reports.txt (default: core + the reports extra, so /reports works) or core.txt
# (`--build-arg LOCK=core`: the leanest image; /reports then answers 503). Neither holds
# dev tools nor the Temporal dev server binaries.
FROM python:3.11-slim

ARG LOCK=reports

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The pinned dependencies first (a layer that changes only with the lockfile).
COPY requirements /src/requirements
RUN pip install --requirement /src/requirements/${LOCK}.txt

# Then the project itself (not editable; its dependencies are already there), minus sources.
COPY pyproject.toml README.md LICENSE /src/
COPY oms /src/oms
COPY workflows /src/workflows
COPY activities /src/activities
COPY workers /src/workers
COPY starters /src/starters
# The sandboxes: the carrier and SMTP sink services of the compose file's try-out, and the
# sandbox payment provider, which a worker with real codec keys refuses unless
# OMS_ALLOW_SANDBOX_PAYMENTS=true (docs/deploy.md, "Payment provider and carrier").
COPY sandboxes /src/sandboxes
RUN pip install --no-deps /src && rm -rf /src

# Non-root user; /app/var holds the sandbox carrier's label store and the mail sink's files.
RUN useradd --system --create-home --uid 10001 oms \
    && mkdir -p /app/var/mail \
    && chown -R oms:oms /app
WORKDIR /app
USER 10001

# API, sandbox carrier, SMTP sink, codec server.
EXPOSE 8000 8100 8025 8234

CMD ["oms", "api"]
