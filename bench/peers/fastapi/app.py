"""FastAPI peer of tools/covet-bench.

Run by the tool as one uvicorn worker with uvloop and httptools (Debian's python3-uvicorn,
python3-uvloop, python3-httptools):

    python3 -m uvicorn --app-dir bench/peers/fastapi app:app --host 127.0.0.1 --port P \
        --workers 1 --loop uvloop --http httptools --no-access-log --log-level warning

GET /plaintext -> "Hello, World!" (text/plain); GET /json -> {"message": "Hello, World!"},
a dict that FastAPI encodes and serializes on every request (the default JSONResponse).
uvicorn adds the Server and Date headers.
"""
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext():
    return "Hello, World!"


@app.get("/json")
async def json_endpoint():
    return {"message": "Hello, World!"}
