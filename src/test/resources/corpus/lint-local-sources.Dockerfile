# Local folders and archives are not downloaded: they are not unpinned packages.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN npm install ./pkg.tgz
RUN npm install ~/folder
RUN npm install mypkg.tar.gz
RUN pip install --no-cache-dir foo/bar
RUN pip install --no-cache-dir mypkg.tar.gz
RUN go install .
# expect: pip-unpinned
RUN pip install --no-cache-dir mypkg
HEALTHCHECK CMD ["/app/health"]
USER 1000
