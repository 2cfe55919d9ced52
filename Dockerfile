# syntax=docker/dockerfile:1
# slascone-sync as a container image for CI systems that run jobs in one (GitLab's Docker
# executor among them): the static binary, CA certificates and a POSIX shell, run as a non-root
# user. Build: docker build -t slascone-sync .

# Alpine's Rust targets musl, so the binary is static and runs on the bare Alpine base below.
FROM rust:1.95-alpine AS build
# musl-dev: ring builds C and assembly (newer rust:alpine images already have it); make: the
# build of jemalloc, the binary's allocator. Their versions are whatever that Alpine release ships.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev make
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
# Cargo.toml declares the benchmarks, so their sources must be there to read it.
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile dist --locked --bin slascone-sync \
    && cp target/dist/slascone-sync /usr/local/bin/slascone-sync

FROM alpine:3.22
# The base already has busybox's sh and the CA bundle (ca-certificates-bundle), which job scripts'
# own tools (curl, git) use; slascone-sync itself carries Mozilla's roots. Only a user is added.
RUN adduser -D -u 10001 -h /home/slascone slascone
COPY --from=build /usr/local/bin/slascone-sync /usr/local/bin/slascone-sync
USER 10001
WORKDIR /home/slascone
ENTRYPOINT ["slascone-sync"]
CMD ["--help"]
