# The operator image. Build it where a container engine runs:
#   docker build -t <registry>/prompt-release-operator:0.1.0 .
# then set the chart's image.repository (and tag). Slim, non-root, read-only-root friendly.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir /wheels/*.whl \
 && useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["prompt-release-operator"]
CMD ["run", "--all-namespaces", "--liveness=http://0.0.0.0:8081/healthz", "--metrics-port=8080"]
