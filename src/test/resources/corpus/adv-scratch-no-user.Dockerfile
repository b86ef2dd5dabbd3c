# expect: final-user-root
FROM scratch
COPY app /app
