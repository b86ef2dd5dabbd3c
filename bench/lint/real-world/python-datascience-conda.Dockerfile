FROM continuumio/miniconda3:24.7.1-0

LABEL description="Notebook runner for the forecasting team"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      git \
      graphviz \
      fonts-dejavu \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

COPY environment.yml /tmp/environment.yml
RUN conda env create -f /tmp/environment.yml \
 && conda clean -afy \
 && find /opt/conda/ -follow -type f -name '*.a' -delete \
 && find /opt/conda/ -follow -type f -name '*.pyc' -delete \
 && rm /tmp/environment.yml

RUN echo "conda activate forecast" >> ~/.bashrc
ENV PATH /opt/conda/envs/forecast/bin:$PATH

ARG NB_USER=analyst
ARG NB_UID=1000
RUN useradd -m -s /bin/bash -N -u $NB_UID $NB_USER
WORKDIR /home/$NB_USER/work
COPY --chown=${NB_UID}:100 notebooks/ ./notebooks/
COPY --chown=${NB_UID}:100 src/ ./src/
USER $NB_USER
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--no-browser", "--ServerApp.token=''"]
