# gem i, pip2, pipx, pip3.x and aptitude are installers like gem install, pip and apt-get.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: gem-unpinned
RUN gem i rails
# expect: pip-unpinned consecutive-run
RUN pip2 install --no-cache-dir flask
# expect: pip-unpinned consecutive-run
RUN pipx install black
# expect: pip-unpinned consecutive-run
RUN pip3.12 install --no-cache-dir flask
# expect: apt-unpinned consecutive-run
RUN aptitude install -y curl
# expect: consecutive-run
RUN gem i rails:7.1.3
# expect: consecutive-run
RUN pip2 install --no-cache-dir flask==1.1.4
# expect: consecutive-run
RUN pipx install black==24.1.0
# expect: consecutive-run
RUN pip3.12 install --no-cache-dir flask==3.0.0
# expect: consecutive-run
RUN aptitude install -y curl=7.88.1-10
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
