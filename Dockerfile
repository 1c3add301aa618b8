# The arena image: web, workers, beat and the migrate job (docker-compose.yml). CPU torch by default;
# the GPU workers' image is this file built with a CUDA torch index (compose's gpu-worker-0 does):
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t arena-hub-gpu:local .
# The CUDA wheels carry their own CUDA libraries; the host needs only the NVIDIA driver and the
# NVIDIA Container Toolkit.
FROM python:3.11-slim
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    ARENA_DATA_DIR=/data
WORKDIR /app

# The dependencies first (pyproject.toml installs no package of its own), so that a code change
# rebuilds from the COPY below and reuses this layer.
COPY pyproject.toml ./
RUN pip install --extra-index-url "$TORCH_INDEX_URL" '.[worker]' && rm -rf build *.egg-info

# Only what the site runs, never a developer's .venv, .data or .git: one COPY per top-level package
# (tests/config/test_compose.py checks that each package pyproject.toml names is here).
COPY manage.py ./
COPY config config
COPY core core
COPY workers workers
COPY arena arena
COPY leaderboard leaderboard
COPY portal portal
COPY evaluation evaluation
COPY moderation moderation
COPY templates templates
COPY static static

# collectstatic needs neither database nor Redis (manage.py starts no server for it), only a key.
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0

# Not root. The app writes only under /data (media, models, beat's schedule) and /srv/static (the
# copy Caddy serves); a named volume first mounted there takes these owners.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin arena \
    && mkdir -p /data/media /data/models /srv/static \
    && chown -R arena:arena /data /srv/static
USER arena
EXPOSE 8000
CMD ["python", "-m", "uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
