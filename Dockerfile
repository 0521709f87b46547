# syntax=docker/dockerfile:1
# Multi-stage build: a Rust toolchain builds the release binary; the runtime image holds only
# the binary, libpq and CA certificates, and runs as the unprivileged user 10001 (numeric, so
# Kubernetes' runAsNonRoot can check it). Needs BuildKit (the default builder of Docker 23+
# and of `docker compose` v2): the cache mounts below are BuildKit's.
# Base images are pinned to a release, never `latest`; update them on purpose.

FROM rust:1.95.0-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
COPY demo demo
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
 && install -D -m 0755 target/release/passerelle /out/passerelle \
 && strip /out/passerelle

FROM debian:12.8-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 passerelle \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin passerelle
COPY --from=build /out/passerelle /usr/local/bin/passerelle
USER 10001:10001
ENV LISTEN_ADDR=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["passerelle", "health"]
ENTRYPOINT ["passerelle"]
CMD ["serve"]
