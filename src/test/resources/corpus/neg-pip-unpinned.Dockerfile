# pip installs that pin: a requirements file with hashes, == and ~= specifiers, and a local wheel.
FROM 127.0.0.1:5000/base/python:3.12@sha256:5656565656565656565656565656565656565656565656565656565656565656
WORKDIR /srv/app
COPY requirements.txt /srv/app/
# quiet: pip-unpinned
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY dist/ /srv/app/dist/
# quiet: pip-unpinned
RUN pip install --no-cache-dir gunicorn==22.0.0 "uvicorn[standard]~=0.30.6" ./dist/payments_api-2.4.1-py3-none-any.whl
HEALTHCHECK CMD ["python3", "-m", "payments_api.health"]
USER 1000
CMD ["gunicorn", "payments_api.main:app"]
