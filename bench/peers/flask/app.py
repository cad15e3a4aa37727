"""Flask peer of tools/covet-bench.

Run by the tool as one gunicorn worker process (Debian's gunicorn and python3-flask):

    gunicorn --chdir bench/peers/flask --workers 1 --worker-class sync \
        --bind 127.0.0.1:P app:app

gunicorn's sync worker (its default) handles one request at a time and closes the connection
after each response (no keep-alive), so wrk reconnects for every request: that is the price
of the default deployment, and the numbers include it. gunicorn's master process is measured
together with the worker. GET /plaintext -> "Hello, World!" (text/plain); GET /json ->
jsonify(), serialized on every request. gunicorn adds the Server and Date headers.
"""
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/plaintext")
def plaintext():
    return "Hello, World!", 200, {"Content-Type": "text/plain"}


@app.get("/json")
def json_endpoint():
    return jsonify(message="Hello, World!")
