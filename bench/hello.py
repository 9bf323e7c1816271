"""The ceiling: a hello-world Flask app, served by the same gunicorn config as the real one."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
@app.get("/healthz")
def hello():
    return "Hello, world!"
