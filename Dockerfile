# The app image: pollers, worker and batch scheduler all run the `usagemart` command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY usagemart ./usagemart
COPY streams ./streams
COPY schemas ./schemas
COPY clickhouse ./clickhouse
COPY batch ./batch
RUN pip install --no-cache-dir .
ENV USAGEMART_HOME=/var/lib/usagemart
ENTRYPOINT ["usagemart"]
