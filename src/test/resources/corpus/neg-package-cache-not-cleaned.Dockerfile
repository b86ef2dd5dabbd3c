# pip caches kept out of the layers: pip2, pip3.12 and python3 -m pip with --no-cache-dir, and pip3 under a cache mount.
FROM 127.0.0.1:5000/base/python:2.7@sha256:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a AS legacy-report
WORKDIR /opt/report
COPY report/ /opt/report/
# quiet: package-cache-not-cleaned
RUN pip2 install --no-cache-dir reportlab==3.5.67 && python2 build_report.py --out /opt/report/out
FROM 127.0.0.1:5000/base/python:3.12@sha256:5656565656565656565656565656565656565656565656565656565656565656
WORKDIR /srv/app
COPY requirements.txt /srv/app/
# quiet: package-cache-not-cleaned
RUN pip3.12 install --no-cache-dir -r requirements.txt
COPY --from=legacy-report /opt/report/out/ /srv/app/static/reports/
# quiet: package-cache-not-cleaned
RUN python3 -m pip install --no-cache-dir gunicorn==22.0.0
# quiet: package-cache-not-cleaned
RUN --mount=type=cache,target=/root/.cache/pip pip3 install uvicorn==0.30.6
COPY app/ /srv/app/app/
HEALTHCHECK CMD ["python3", "-m", "app.health"]
USER 1000
CMD ["gunicorn", "app.main:app"]
