# One image, several commands: `onething api`, `onething worker ...`, `onething db upgrade`.
# Build: docker build -t onething:local .   (docker compose builds it too)
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the package needs; .dockerignore keeps the rest out of the context.
COPY pyproject.toml README.md worker.py ./
COPY domain/ domain/
COPY workflows/ workflows/
COPY activities/ activities/
COPY store/ store/
COPY onething/ onething/
COPY starter/ starter/
COPY audit/ audit/
COPY bench/ bench/
RUN python -m venv /opt/onething \
 && /opt/onething/bin/pip install --no-compile . \
 && /opt/onething/bin/python -m compileall -q /opt/onething/lib

FROM python:3.11-slim-bookworm
# A fixed, unprivileged user; its home is the data directory (a volume in compose).
RUN groupadd --system --gid 10001 onething \
 && useradd --system --uid 10001 --gid onething --home-dir /var/lib/onething --create-home onething
COPY --from=build /opt/onething /opt/onething
ENV PATH=/opt/onething/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ONETHING_DATA_DIR=/var/lib/onething \
    ONETHING_LOG_FORMAT=json
USER onething
WORKDIR /var/lib/onething
ENTRYPOINT ["onething"]
CMD ["--help"]
