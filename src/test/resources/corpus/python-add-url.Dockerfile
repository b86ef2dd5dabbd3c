# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app/ ./app/
RUN useradd --uid 10001 --create-home app
# expect: add-url-outside-egress add-url-without-checksum
ADD https://example.com/tool.tar.gz /opt/
USER app
CMD ["python", "-m", "app"]
