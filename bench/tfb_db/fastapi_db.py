"""FastAPI + asyncpg peer of bench/tfb_db/run.sh: the TechEmpower database endpoints.

    TFB_DB_DSN=postgresql://postgres@/postgres?host=/tmp/dir python3 -m uvicorn \
        --app-dir bench/tfb_db fastapi_db:app --host 127.0.0.1 --port P --workers 1 \
        --loop uvloop --http httptools --no-access-log --log-level warning

Debian packages: python3-fastapi python3-uvicorn python3-uvloop python3-httptools
python3-asyncpg. One asyncpg pool per worker (TFB_DB_POOL connections, default 8);
asyncpg prepares and caches statements itself. Same tables as covet_tfb seeds
(world, fortune), same rules (queries clamped to 1..500, the added fortune, sorting,
HTML escaping).
"""
import html
import os
import random

import asyncpg
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()
pool = None

SELECT_WORLD = 'SELECT id, "randomNumber" FROM world WHERE id = $1'
UPDATE_WORLD = 'UPDATE world SET "randomNumber" = $2 WHERE id = $1'


@app.on_event("startup")
async def startup():
    global pool
    pool = await asyncpg.create_pool(os.environ["TFB_DB_DSN"], min_size=1,
                                     max_size=int(os.environ.get("TFB_DB_POOL", "8")))


def query_count(text):
    try:
        n = int(text)
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), 500)


def random_id():
    return random.randint(1, 10000)


@app.get("/db")
async def single_query():
    async with pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_WORLD, random_id())
    return {"id": row[0], "randomNumber": row[1]}


@app.get("/queries")
async def multiple_queries(queries: str = None):
    n = query_count(queries)
    async with pool.acquire() as conn:
        statement = await conn.prepare(SELECT_WORLD)
        rows = [await statement.fetchrow(random_id()) for _ in range(n)]
    return [{"id": r[0], "randomNumber": r[1]} for r in rows]


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes():
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, message FROM fortune")
    items = [(r[0], r[1]) for r in rows]
    items.append((0, "Additional fortune added at request time."))
    items.sort(key=lambda f: f[1])
    body = "".join(f"<tr><td>{i}</td><td>{html.escape(m)}</td></tr>" for i, m in items)
    return ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>" + body + "</table></body></html>")


@app.get("/updates")
async def updates(queries: str = None):
    n = query_count(queries)
    async with pool.acquire() as conn:
        statement = await conn.prepare(SELECT_WORLD)
        worlds = []
        for _ in range(n):
            row = await statement.fetchrow(random_id())
            worlds.append({"id": row[0], "randomNumber": random_id()})
        # In id order, so that concurrent requests lock rows in the same order (no deadlocks).
        ordered = sorted({w["id"]: w["randomNumber"] for w in worlds}.items())  # the last of an id wins
        await conn.executemany(UPDATE_WORLD, ordered)
    return worlds
