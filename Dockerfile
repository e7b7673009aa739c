# Not buildable on the development machines (no Docker engine there); for production.
#
# Ibiki in a container: a static binary on Alpine, run as an unprivileged user. The SQLite driver
# (github.com/mattn/go-sqlite3) is C, so the binary is built with cgo and a C compiler, against
# musl, and linked statically: it needs no libc of the run stage's. Build and run:
#
#   docker build -t ibiki --build-arg VERSION=$(git describe --always --dirty) .
#   docker run -d -p 8080:8080 -v ibiki-data:/var/lib/ibiki \
#     -e IBIKI_ADMIN_TOKEN_FILE=/run/secrets/admin_token ibiki
#
# Configuration is by IBIKI_* variables (docs/configuration.md). See docker-compose.yml for
# Ibiki with PostgreSQL.

# ---- build ----
# golang:1.26-alpine follows the newest 1.26.x release; go.mod needs at least the go version it
# names. build-base brings gcc and the musl headers for cgo.
FROM golang:1.26-alpine AS build
RUN apk add --no-cache build-base
WORKDIR /src
# Dependencies first, so that this layer is cached while only Ibiki's code changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# netgo and osusergo keep DNS and user lookups in Go, as they were without cgo;
# sqlite_omit_load_extension leaves out SQLite's loading of extensions (dlopen), which Ibiki
# does not use and a static binary cannot do.
RUN CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo,sqlite_omit_load_extension \
      -ldflags "-s -w -linkmode external -extldflags -static -X github.com/ibiki/ibiki/internal/cli.version=${VERSION}" \
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
