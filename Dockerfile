FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DJANGO_STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY pyproject.toml ./
COPY . .
# CPU torch by default; a GPU image installs the CUDA build of torch==2.13.0 instead.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -e '.[worker]'
RUN DJANGO_SECRET_KEY=build DJANGO_DEBUG=0 DATABASE_URL=postgresql://x@localhost/x REDIS_URL=redis://localhost \
    python manage.py collectstatic --noinput
EXPOSE 8000
