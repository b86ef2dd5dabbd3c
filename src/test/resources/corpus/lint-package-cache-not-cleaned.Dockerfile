FROM 127.0.0.1:5000/base/rockylinux:9@sha256:efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef
WORKDIR /app
# expect: package-cache-not-cleaned
RUN dnf install -y tar-1.34 
WORKDIR /app
RUN dnf install -y gzip-1.12 && dnf clean all
WORKDIR /app
# expect: package-cache-not-cleaned
RUN pip3 install flask==3.0.3
WORKDIR /app
RUN pip3 install --no-cache-dir gunicorn==22.0.0
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/pip pip3 install requests==2.32.3
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
