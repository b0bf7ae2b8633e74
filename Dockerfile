# Buurtwacht bot image: `buurtbot run` against the homeserver in
# BUURTBOT_HOMESERVER. Used by the `bot` service in docker-compose.yml.
#
# Runtime dependencies only (no matrix-synapse: that is the `dev` extra for
# `buurtbot dev`). matrix-nio[e2e] uses vodozemac, which ships manylinux wheels
# for x86_64 and aarch64, so no compiler is needed in this slim image.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BUURTBOT_DATA_DIR=/data

# Unprivileged user; fixed IDs so volume ownership is predictable.
RUN groupadd --system --gid 10001 buurtbot \
    && useradd --system --uid 10001 --gid buurtbot --home-dir /app \
       --shell /usr/sbin/nologin buurtbot

WORKDIR /app

# Install the package (pyproject + sources only, so editing config/ does not
# invalidate this layer).
COPY pyproject.toml README.md ./
COPY bot ./bot
# Optional extras, e.g. `docker compose build --build-arg EXTRAS=faces` for the face tip.
ARG EXTRAS=""
RUN pip install ".${EXTRAS:+[$EXTRAS]}" \
    && rm -rf build ./*.egg-info

# Defaults for vocabularies and house rules; compose mounts ./config over it.
COPY config ./config

# Sync token, database and E2EE crypto store. Created here so that a fresh
# named volume inherits the buurtbot ownership.
RUN mkdir -p /data && chown buurtbot:buurtbot /data
VOLUME /data

USER buurtbot

ENTRYPOINT ["buurtbot"]
CMD ["run"]
