# A version variable declared only in another stage (or as a global ARG not redeclared) is empty when the step runs.
ARG GLOBAL_V=3.0.0
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS versions
ARG WIDGET_V=2.1.0
RUN true
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ARG GADGET_V=1.0.4
ARG GLOBAL_V
# expect: npm-unpinned
RUN npm install widget@${WIDGET_V}
# expect: consecutive-run
RUN npm install gadget@${GADGET_V} thing@$GLOBAL_V
# expect: consecutive-run
RUN npm install other@$OTHER_V_FROM_BASE
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
