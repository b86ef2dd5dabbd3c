# A VCS source is pinned by @<revision> in its path (not by the user of git+ssh://git@host); a plain URL by an archive.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: pip-unpinned
RUN pip install --no-cache-dir git+https://git.example/team/tool.git
# expect: pip-unpinned consecutive-run
RUN pip install --no-cache-dir git+ssh://git@git.example/team/tool.git
# expect: pip-unpinned consecutive-run
RUN pip install --no-cache-dir https://files.example/download
# expect: consecutive-run
RUN pip install --no-cache-dir git+https://git.example/team/tool.git@v1.2.0
# expect: consecutive-run
RUN pip install --no-cache-dir git+ssh://git@git.example/team/tool.git@3f2c1ab
# expect: consecutive-run
RUN pip install --no-cache-dir https://files.example/tool-1.2.0.tar.gz
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
