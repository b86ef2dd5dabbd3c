# The value of an option is not a package; what gem gets after -- is for the extension's build.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN npm install --loglevel verbose express@4.19.2
# expect: consecutive-run
RUN pip install --no-cache-dir --root-user-action ignore flask==3.0.0
# expect: consecutive-run
RUN gem install nokogiri:1.16.0 -- --use-system-libraries true
# expect: npm-unpinned consecutive-run
RUN npm install --loglevel verbose express
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
