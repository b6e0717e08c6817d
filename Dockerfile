# One image for every service; docker-compose.yml picks the service by command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY services ./services
RUN pip install --no-cache-dir -e .
ENV TOUSU_DATA_DIR=/data
ENTRYPOINT ["tousu"]
CMD ["--help"]
