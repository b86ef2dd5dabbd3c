# Accounts without passwords baked in: passwd and usermod lock the accounts and set a shell, no password is set.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
# quiet: chpasswd
RUN passwd -l root && usermod --shell /usr/sbin/nologin root && usermod --lock app
HEALTHCHECK CMD ["/bin/true"]
USER 10001
