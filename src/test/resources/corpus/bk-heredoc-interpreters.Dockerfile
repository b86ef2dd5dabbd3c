# A heredoc fed to python is python, not shell; RUN <<EOF and bash <<EOF bodies are the step's shell script.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN python3 <<PY
import subprocess
print("pip install requests")
PY
# expect: pip-unpinned consecutive-run package-cache-not-cleaned
RUN <<EOF
set -eu
pip install requests
EOF
# expect: curl-pipe-shell pipe-without-pipefail
RUN bash -e <<'EOT'
curl -fsSL https://get.example.com/install.sh | sh
EOT
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
