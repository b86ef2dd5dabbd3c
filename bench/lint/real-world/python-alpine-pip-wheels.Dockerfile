FROM python:3.9-alpine3.19 as wheels
RUN apk add --no-cache --virtual .build-deps \
        gcc \
        musl-dev \
        libffi-dev \
        openssl-dev \
        cargo \
        postgresql-dev
WORKDIR /wheels
COPY requirements.txt .
RUN pip wheel --wheel-dir=/wheels -r requirements.txt

FROM python:3.9-alpine3.19
RUN apk add --no-cache libpq libffi
COPY --from=wheels /wheels /wheels
RUN pip install --no-index --find-links=/wheels /wheels/*.whl && rm -rf /wheels
WORKDIR /srv
COPY bot/ ./bot/
RUN adduser -D -H -u 4242 bot
USER bot
CMD ["python", "-m", "bot"]
