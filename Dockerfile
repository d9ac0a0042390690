# One image for every role: `serve` (HTTP, and the embedded worker without Redis) or `worker` (rq).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    GATEWAY_DATABASE_URL=sqlite:////data/gateway.db GATEWAY_FILES_DIR=/data/files GATEWAY_LOG_FORMAT=json
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip install . && useradd --system --home /data gateway && mkdir -p /data && chown gateway /data
USER gateway
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
