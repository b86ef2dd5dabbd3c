# A release-signing PUBLIC key written by a RUN (no credential: only a private key would be one), and its fingerprint in a LABEL.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: secret-in-label-or-run
RUN mkdir -p /etc/payments && printf '%s\n' '-----BEGIN PUBLIC KEY-----' 'MCowBQYDK2VwAyEAq3k1Zl5qTz0Yx8bW2c4VfJr9nHdS6uPmE7aGoLiXtBQ=' '-----END PUBLIC KEY-----' > /etc/payments/release.pub
# quiet: secret-in-label-or-run
LABEL com.corp.release-key.fingerprint="SHA256:Jt7r0qkX2vN5mP8sLw3cY6hF1dB9gZ4aE0uK7oTq2Ri"
HEALTHCHECK CMD ["/bin/true"]
USER 1000
