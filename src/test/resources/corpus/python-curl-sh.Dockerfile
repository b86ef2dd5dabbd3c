# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app/ ./app/
RUN useradd --uid 10001 --create-home app
# expect: curl-pipe-shell consecutive-run pipe-without-pipefail
RUN curl -fsSL https://get.example.com/install.sh | sh
USER app
CMD ["python", "-m", "app"]
