# syntax=docker/dockerfile:1
FROM python:3.12-alpine
RUN apk add --no-cache git
WORKDIR /srv/hooks
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
RUN python3 <<PY
import compileall, pathlib
pathlib.Path("/srv/hooks/cache").mkdir(parents=True, exist_ok=True)
compileall.compile_dir("/usr/local/lib/python3.12", quiet=1)
PY
RUN <<SH
#!/bin/sh
set -e
addgroup -S hooks
adduser -S -G hooks -h /srv/hooks hooks
chown -R hooks:hooks /srv/hooks
SH
COPY --chown=hooks:hooks hooks/ ./hooks/
USER hooks
ENV HOOKS_PORT=9000
EXPOSE 9000
CMD ["python", "-m", "hooks.server"]
