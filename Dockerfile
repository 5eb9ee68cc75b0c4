# Build: docker build -t podium .
# Run:   docker run --rm -p 7880:7880 -p 7881:7881 -p 7882:7882/udp \
#          -e PODIUM_KEYS="mykey:$(openssl rand -hex 32)" -e PODIUM_NODE_IP=203.0.113.7 podium
#        (PODIUM_NODE_IP: the address clients reach the host on, put in ICE candidates.)
# Without keys the server refuses to start on 0.0.0.0: dev mode hands out admin tokens. For a
# trial on your own machine only: docker run … podium serve --bind 0.0.0.0 --dev-allow-remote

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so source edits don't invalidate the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binary: the runtime image has no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/podium ./cmd/podium

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/podium /podium
USER nonroot:nonroot
# 7880 HTTP/WebSocket, 7881 ICE over TCP, 7882 ICE over UDP.
EXPOSE 7880/tcp 7881/tcp 7882/udp
# The image has no shell or curl: the binary asks its own server (GET /healthz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s CMD ["/podium", "health"]
ENTRYPOINT ["/podium"]
CMD ["serve", "--bind", "0.0.0.0"]
