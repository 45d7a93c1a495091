# One image for the API and the worker; docker-compose.yml runs it twice with different commands.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY api api
COPY settings.py observability.py bootstrap.py worker.py ./
RUN pip install --no-cache-dir .
USER nobody
CMD ["python", "worker.py"]
