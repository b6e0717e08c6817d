# One image for every service; docker-compose.yml picks the service by command.
# Built as a regular wheel (no editable checkout), run as a user without rights
# to the code: a compromised service cannot rewrite itself.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY schemas ./schemas
COPY services ./services
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /data --create-home tousu
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV TOUSU_DATA_DIR=/data PYTHONUNBUFFERED=1
USER tousu
WORKDIR /data
VOLUME ["/data"]
# Each service's command names its port; the health check asks the one given in TOUSU_HEALTH_PORT.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('TOUSU_HEALTH_PORT', '8315'), timeout=4)"
ENTRYPOINT ["tousu"]
CMD ["--help"]
