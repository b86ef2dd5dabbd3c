# expect: final-user-root missing-healthcheck
FROM scratch
COPY app /app
