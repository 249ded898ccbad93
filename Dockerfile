# ferry's image: the Makefile's static build, run as a non-root user next to
# the git CLI ferry drives (mirrors, revert commits, remote Kustomize bases).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --home-dir /var/lib/ferry --create-home ferry
COPY --from=build /src/bin/ferry /usr/local/bin/ferry
USER 65532:65532
WORKDIR /var/lib/ferry
ENV FERRY_DATA_DIR=/var/lib/ferry/data
EXPOSE 8080
ENTRYPOINT ["ferry"]
CMD ["serve"]
