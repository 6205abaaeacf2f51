# One image for docker-compose's web, worker and init services.
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY realtime_uploads ./realtime_uploads
# The demo project serves the OpenAPI document and Swagger UI: the schema extra.
RUN pip install '.[postgres,schema]'
COPY . .
RUN useradd --create-home app && mkdir -p /app/.state && chown app /app/.state
USER app
EXPOSE 8000
CMD ["realtime-uploads-daphne", "-e", "tcp:port=8000:interface=0.0.0.0:backlog=2048", "--ping-interval", "20", "--ping-timeout", "30", \
     "asgi:application"]
