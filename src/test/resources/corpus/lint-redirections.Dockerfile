# Redirections are not packages: "> /dev/null 2>&1" names no package. Unquoted, pkg>=1 is pkg writing to the file
# "=1" (as the shell and hadolint read it), so it is not pinned; quoted it is a version constraint.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN npm install express@4.19.2 > /dev/null 2>&1
# expect: consecutive-run
RUN pip install --no-cache-dir 'flask>=3' 2>>/tmp/pip.log
# expect: pip-unpinned consecutive-run
RUN pip install --no-cache-dir flask>=3
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
