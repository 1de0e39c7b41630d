# One image for every everypenny process: app nodes (the default command), outbox workers (`everypenny worker`)
# and one-off commands (`everypenny db upgrade`, `everypenny appeal load …`). Dependencies are installed at the
# versions uv.lock pins, with their hashes checked. See docs/deployment.md.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN pip install "uv==0.13.10"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# --locked refuses a lock file that no longer matches pyproject.toml's ranges.
RUN uv export --locked --no-dev --no-emit-project --format requirements-txt --output-file requirements.txt \
    && python -m venv /opt/everypenny \
    && /opt/everypenny/bin/pip install --require-hashes --requirement requirements.txt
COPY src ./src
RUN /opt/everypenny/bin/pip install --no-deps .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/everypenny everypenny
COPY --from=build /opt/everypenny /opt/everypenny
ENV PATH=/opt/everypenny/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/everypenny
USER everypenny
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# An app node: stateless, one process per core (WEB_CONCURRENCY), no worker inside; run workers apart.
# --no-proxy-headers: the app reads X-Forwarded-For itself, from EVERYPENNY_TRUSTED_PROXIES only; --http: uvicorn's
# httptools protocol with bounds on header size and on slow headers and bodies (docs/security.md).
CMD ["sh", "-c", "exec uvicorn --factory everypenny.entrypoints.web.asgi:app --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-2} --no-proxy-headers --http everypenny.entrypoints.web.edge_server:BoundedHttpProtocol"]
