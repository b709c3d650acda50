# syntax=docker/dockerfile:1
# The operator image: a Python virtual environment holding the operator and its locked runtime
# dependencies, run as a non-root user; friendly to a read-only root filesystem.
#
#   docker buildx build -t <registry>/prompt-release-operator:0.1.0 .        (anywhere)
#   make image                                          (podman, with a base built from Debian)
#
# BASE is any Debian-based image with python3 (3.11) and its venv module on PATH. The default is
# the public Python image; `make image` passes a Debian minbase it builds itself.
ARG BASE=docker.io/library/python:3.11.11-slim-bookworm

FROM ${BASE} AS build
LABEL io.promptrelease.build=prompt-release-operator
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_NO_INPUT=1
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
# Every dependency, runtime and build, is pinned and hash-checked (pip --require-hashes). The
# optional `cacert` secret is a CA bundle for a TLS-inspecting proxy; it never enters a layer.
RUN --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
 && python3 -m venv /opt/build \
 && /opt/build/bin/pip install --quiet --require-hashes --only-binary=:all: -r requirements-build.lock \
 && python3 -m venv /opt/prompt-release-operator \
 && /opt/prompt-release-operator/bin/pip install --quiet --require-hashes --no-deps \
      --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY operator/prompt_release ./operator/prompt_release
RUN /opt/build/bin/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/prompt-release-operator/bin/pip install --quiet --no-deps --no-compile /wheels/*.whl \
 && /opt/prompt-release-operator/bin/pip uninstall --quiet --yes pip setuptools \
 && rm -f /opt/prompt-release-operator/bin/activate* /opt/prompt-release-operator/bin/kubectl-prompt \
 && /opt/prompt-release-operator/bin/python -m compileall -q -j 0 /opt/prompt-release-operator/lib

FROM ${BASE}
LABEL org.opencontainers.image.title=prompt-release-operator \
      org.opencontainers.image.description="Release management for LLM prompts, native to Kubernetes" \
      org.opencontainers.image.licenses=Apache-2.0
COPY --from=build /opt/prompt-release-operator /opt/prompt-release-operator
RUN echo 'operator:x:65532:65532:prompt-release-operator:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'operator:x:65532:' >> /etc/group
ENV PATH=/opt/prompt-release-operator/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 8081
ENTRYPOINT ["prompt-release-operator"]
CMD ["run", "--all-namespaces", "--liveness=http://0.0.0.0:8081/healthz", "--metrics-port=8080"]
