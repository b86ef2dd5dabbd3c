# Local folders and archives are not downloaded: they are not unpinned packages.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN npm install ./pkg.tgz
# expect: consecutive-run
RUN npm install ~/folder
# expect: consecutive-run
RUN npm install mypkg.tar.gz
# expect: consecutive-run
RUN pip install --no-cache-dir foo/bar
# expect: consecutive-run
RUN pip install --no-cache-dir mypkg.tar.gz
# expect: consecutive-run
RUN go install .
# expect: pip-unpinned consecutive-run
RUN pip install --no-cache-dir mypkg
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
