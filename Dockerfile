# syntax=docker/dockerfile:1
# AniGo: a static Go binary on distroless, running as non-root.

# htmx from npm, pinned by package-lock.json.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=assets /src/node_modules/htmx.org/dist/htmx.min.js static/js/htmx.min.js
RUN go tool templ generate \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/anigo ./cmd/anigo

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/anigo /usr/local/bin/anigo
USER nonroot:nonroot
ENV PORT=3000
EXPOSE 3000
# distroless has no shell or curl: the binary checks its own /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["anigo", "healthcheck"]
ENTRYPOINT ["anigo"]
CMD ["serve", "-import-if-empty"]
