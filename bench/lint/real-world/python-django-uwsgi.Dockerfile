FROM python:3.10-bullseye AS build
ARG DJANGO_ENV=production
RUN apt-get update && apt-get install -y --no-install-recommends \
      gettext \
      libjpeg62-turbo-dev \
      zlib1g-dev \
      libpq-dev \
      gcc \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH
WORKDIR /code
COPY requirements/ requirements/
RUN pip install --upgrade pip==24.2 wheel==0.44.0 \
    && pip install -r requirements/${DJANGO_ENV}.txt
COPY . .
RUN DJANGO_SETTINGS_MODULE=cms.settings.build python manage.py collectstatic --noinput \
    && python manage.py compilemessages

FROM python:3.10-slim-bullseye
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpq5 \
      libjpeg62-turbo \
      mime-support \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /venv /venv
COPY --from=build /code /code
ENV PATH=/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=cms.settings.production \
    UWSGI_WSGI_FILE=cms/wsgi.py \
    UWSGI_HTTP=:8000 \
    UWSGI_MASTER=1 \
    UWSGI_HTTP_AUTO_CHUNKED=1 \
    UWSGI_HTTP_KEEPALIVE=1 \
    UWSGI_LAZY_APPS=1 \
    UWSGI_WSGI_ENV_BEHAVIOR=holy \
    UWSGI_WORKERS=2 \
    UWSGI_THREADS=4
WORKDIR /code
RUN useradd --system --uid 991 --no-create-home django && chown django /code/media
USER django
EXPOSE 8000
ENTRYPOINT ["/code/docker-entrypoint.sh"]
CMD ["uwsgi", "--show-config"]
