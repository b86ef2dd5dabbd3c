ARG B
# expect: unapproved-image
FROM $B
USER 1000
