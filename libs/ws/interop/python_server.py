"""A python3-websockets echo server (permessage-deflate on) for covet's client; prints "port N"."""
import asyncio

import websockets


async def echo(ws, _path=None):
    async for message in ws:
        await ws.send(message)


async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, compression="deflate", max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"port {port}", flush=True)
        await asyncio.Future()


asyncio.run(main())
