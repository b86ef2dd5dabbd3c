# A git or URL source is pinned by a #commit or #semver: range, or by naming a tarball; "://" alone is no pin.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: npm-unpinned
RUN npm install git+https://git.example/team/widget.git
# expect: npm-unpinned consecutive-run
RUN npm install https://git.example/team/widget
# expect: npm-unpinned consecutive-run
RUN npm install team/widget
# expect: consecutive-run
RUN npm install git+https://git.example/team/widget.git#v2.1.0
# expect: consecutive-run
RUN npm install git+ssh://git@git.example/team/widget.git#semver:^2.1
# expect: consecutive-run
RUN npm install https://registry.example/widget/-/widget-2.1.0.tgz
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
