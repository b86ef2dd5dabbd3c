# expect: unapproved-image image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/../evil/x:1
USER 1000
