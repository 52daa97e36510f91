# syntax=docker/dockerfile:1
# Cairn's image for those who build with Docker (docs/install.md):
#
#   docker build -t registry.example.com/cairn:$(git describe --tags --always --dirty) \
#     --build-arg VERSION=$(git describe --tags --always --dirty) --build-arg COMMIT=$(git rev-parse HEAD) .
#
# It holds what `make image` (hack/mk/deploy.mk) puts in the image it builds
# without Docker, and nothing else: the two static binaries, /cairn-operator
# and /cairn (the runner; the entrypoint), the CA bundle for object stores
# reached over TLS and an empty /tmp, run as the non-root uid 65532. The build command is the
# Makefile's: hack/imagecheck's test keeps the flags, tags, files, user and
# entrypoint equal to make image's.

# The Go release that builds it (go.mod's go line or newer; same minor).
ARG GO_VERSION=1.26.8

# The build runs on the builder's platform and cross-compiles for the target.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so a source change reuses the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# What `cairn version` and `cairn-operator --version` print; make derives
# them from git (the .git directory is not sent to the build).
ARG VERSION=unknown
ARG COMMIT=unknown
# Set by `docker buildx build --platform`; linux/amd64 otherwise.
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -tags 'disable_grpc_modules' \
      -ldflags "-s -w -X github.com/cairnbackup/cairn/pkg/version.Version=${VERSION} -X github.com/cairnbackup/cairn/pkg/version.Commit=${COMMIT}" \
      -o /out/ ./cmd/cairn ./cmd/cairn-operator
# An empty, world-writable /tmp (mode 1777), as make image's tool adds.
RUN mkdir -m 1777 /out/tmp

# No shell, no package manager, no passwd file: the binaries need none.
FROM scratch
COPY --from=build /out/cairn-operator /cairn-operator
COPY --from=build /out/cairn /cairn
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
ENV PATH=/usr/local/bin:/usr/bin:/bin
USER 65532:65532
ENTRYPOINT ["/cairn"]
