# ENTRYPOINT and CMD in exec (JSON) form, so the process gets the signals.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY bin/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 1000
# quiet: json-args-recommended
ENTRYPOINT ["/usr/local/bin/app"]
# quiet: json-args-recommended
CMD ["serve", "--config", "/etc/app/app.yaml"]
