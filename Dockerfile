# One image for every OMS process: `oms api` (default), `oms worker --queues ...`,
# `oms carrier`, `oms smtp-sink`, `oms db`. See docker-compose.temporal.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the project (not editable; dependencies from pyproject.toml), then drop the sources.
COPY pyproject.toml README.md /src/
COPY oms /src/oms
COPY workflows /src/workflows
COPY activities /src/activities
COPY workers /src/workers
COPY starters /src/starters
COPY sandboxes /src/sandboxes
RUN pip install /src && rm -rf /src

# Non-root user; /app/var holds the sandbox carrier's label store and the mail sink's files.
RUN useradd --system --create-home --uid 10001 oms \
    && mkdir -p /app/var/mail \
    && chown -R oms:oms /app
WORKDIR /app
USER oms

# API, sandbox carrier, SMTP sink.
EXPOSE 8000 8100 8025

CMD ["oms", "api"]
