# One image for every role; the command picks it:
#   serve      the HTTP server (without GATEWAY_REDIS_URL also the worker and the mail poller)
#   worker     rq worker for batch jobs (needs GATEWAY_REDIS_URL)
#   poll-mail  the IMAP poller on its own (when serve runs with Redis)
#   and every other `gateway` command: migrate, user, replay, export, rescore, ...
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_DATABASE_URL=sqlite:////data/gateway.db GATEWAY_FILES_DIR=/data/files GATEWAY_LOG_FORMAT=json
WORKDIR /app

# The pinned dependencies first, in a layer of their own: a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the gateway itself.
COPY README.md ./
COPY gateway ./gateway
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home /data gateway && mkdir -p /data && chown 10001 /data
USER 10001
VOLUME /data
EXPOSE 8080
# Ready when the store answers; containers of other roles (worker, poll-mail) turn it off (see compose.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2)"]
ENTRYPOINT ["gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
