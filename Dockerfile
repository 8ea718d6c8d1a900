FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_DEBUG=0 STUDIO_VAR_DIR=/app/var
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e ".[s3]" \
 && DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 --home-dir /app studio \
 && mkdir -p /data/media /app/var \
 && chown -R studio /data /app/var
# Not root; a named volume mounted on /data/media starts out owned by this user.
USER studio
EXPOSE 8000
CMD ["uvicorn", "studio.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "3", "--proxy-headers", "--timeout-graceful-shutdown", "5"]
