# tongxin: one static binary (ingest, aggregate, migrate, simulate, …).
# docker build -t tongxin .   (deploy/compose builds it the same way)
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Modules first: a source change does not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tongxin ./cmd/tongxin \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tongxin /usr/local/bin/tongxin
# The token store's directory, owned by the user the image runs as (a volume
# mounted there starts with this ownership).
COPY --from=build --chown=65532:65532 /out/state /var/lib/tongxin
USER nonroot:nonroot
# /metrics and /healthz; the simulator's APIs for `tongxin simulate`.
EXPOSE 9464 8080
ENTRYPOINT ["/usr/local/bin/tongxin"]
