# Comments that name the scanners without asking them to skip anything: exceptions are waivers in the policy.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: inline-ignore-comment
# hadolint would report DL3008 here; the versions are pinned instead of ignoring it
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*
# quiet: inline-ignore-comment
# checkov and trivy scan this file in CI, see config/policy/waivers.yaml for the approved exceptions
HEALTHCHECK CMD ["/bin/true"]
USER 1000
