FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/models/cache \
    TRANSFORMERS_OFFLINE=1
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3.11 \
        python3.11-venv \
        python3-pip \
        libgl1 \
        libglib2.0-0 \
        ffmpeg \
    && update-alternatives --install /usr/bin/python3 python3 /usr/bin/python3.11 1 \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"
COPY requirements-gpu.txt /tmp/
RUN pip install --upgrade pip \
    && pip install --extra-index-url https://download.pytorch.org/whl/cu124 \
        torch==2.4.1 torchvision==0.19.1 \
    && pip install -r /tmp/requirements-gpu.txt \
    && rm /tmp/requirements-gpu.txt
WORKDIR /srv/inference
COPY inference/ ./inference/
COPY models/manifest.json /models/manifest.json
RUN useradd -m -u 1000 infer && mkdir -p /models/cache && chown -R infer /models
USER infer
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD curl --fail http://localhost:8501/v1/health || exit 1
CMD ["python3", "-m", "inference.serve", "--port", "8501"]
