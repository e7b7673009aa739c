# Not buildable on the development machines (no Docker engine there); for production.
#
# Ibiki in a container: a static binary (the SQLite driver is pure Go, so CGO is off) on Alpine,
# run as an unprivileged user. Build and run:
#
#   docker build -t ibiki --build-arg VERSION=$(git describe --always --dirty) .
#   docker run -d -p 8080:8080 -v ibiki-data:/var/lib/ibiki \
#     -e IBIKI_ADMIN_TOKEN_FILE=/run/secrets/admin_token ibiki
#
# Configuration is by IBIKI_* variables (docs/configuration.md). See docker-compose.yml for
# Ibiki with PostgreSQL.

# ---- build ----
# golang:1.26 follows the newest 1.26.x release; go.mod needs at least the go version it names.
FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so that this layer is cached while only Ibiki's code changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/ibiki/ibiki/internal/cli.version=${VERSION}" \
      -o /out/ibiki ./cmd/ibiki

# ---- run ----
FROM alpine:3.22
# ca-certificates: client webhooks are usually https. wget (busybox) serves the health check.
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 10001 ibiki \
 && adduser -S -D -H -u 10001 -G ibiki ibiki \
 && mkdir -p /var/lib/ibiki \
 && chown ibiki:ibiki /var/lib/ibiki
COPY --from=build /out/ibiki /usr/local/bin/ibiki

# Listen on every interface inside the container; the SQLite default lives in the volume.
# With IBIKI_DATABASE_URL=postgres://… the volume stays empty.
ENV IBIKI_ADDR=0.0.0.0:8080 \
    IBIKI_DATABASE_URL=/var/lib/ibiki/ibiki.db
VOLUME ["/var/lib/ibiki"]
WORKDIR /var/lib/ibiki
USER ibiki:ibiki
EXPOSE 8080

# /readyz answers 200 when the database is reachable. Change the port here if you change it in
# IBIKI_ADDR.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/readyz || exit 1

# SIGTERM starts a graceful shutdown that can take up to twice IBIKI_SHUTDOWN_TIMEOUT (20 s by
# default): give `docker stop` a longer timeout than its default 10 s (docker stop -t 45).
STOPSIGNAL SIGTERM
ENTRYPOINT ["ibiki"]
CMD ["serve"]
