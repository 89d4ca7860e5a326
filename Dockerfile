# The Sluice image that `sluice k8s render --image` names (docs/kubernetes.md):
#   docker build -t sluice:0.1.0 .
# The first stage builds with the scripts CI uses (scripts/install-deps, make release) on the
# Debian release the project targets; the second holds the binary, the Arrow plugin and the
# shared libraries they load (scripts/collect-image-files), and runs as an unprivileged user.
# Built for x86-64-v2 or newer CPUs (the release build's -march).

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates \
      python3 python3-venv && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# A clean tree: nothing of the build context's own build directory is reused.
RUN rm -rf build .deps-stamp && bash scripts/install-deps && make release JOBS="$(nproc)" && \
    bash scripts/collect-image-files /image build/release

FROM debian:12-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates tzdata && \
    rm -rf /var/lib/apt/lists/* && useradd --uid 10001 --create-home --shell /usr/sbin/nologin sluice
COPY --from=build /image/ /
ENV LD_LIBRARY_PATH=/usr/local/lib/sluice
USER 10001
WORKDIR /home/sluice
# The coordinator's control RPC and the workers' data plane (the manifests' default ports).
EXPOSE 6130 6131
ENTRYPOINT ["sluice"]
CMD ["--help"]
