# One image for the API, the worker and the migration job; docker-compose.yml runs it with different commands.
# Python 3.11 (the oldest the project supports) on Debian 12, pinned to a patch release: rebuilds get the same base.
FROM python:3.11.14-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app
WORKDIR /app

# The dependencies alone first, as pyproject.toml lists them, so that a change of code reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code, compiled now: at run time the user below may not write here.
COPY . .
RUN python -m compileall -q . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin pizzeria

USER pizzeria
EXPOSE 8000 9464
CMD ["python", "worker.py"]
