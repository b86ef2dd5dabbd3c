ARG B
# expect: unapproved-image missing-healthcheck
FROM $B
USER 1000
