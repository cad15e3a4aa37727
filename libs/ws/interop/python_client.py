"""Debian's python3-websockets client against covet's echo server.
Usage: python3 python_client.py ws://127.0.0.1:PORT"""
import asyncio
import sys

import websockets

base = sys.argv[1]
passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}", file=sys.stderr)


async def run(path, compression):
    async with websockets.connect(base + path, compression=compression, max_size=None) as ws:
        for size in [0, 1, 125, 126, 65535, 65536, 1 << 20, 8 << 20]:
            text = "".join(chr(97 + (i * 7) % 26) for i in range(size))
            await ws.send(text)
            check(await ws.recv() == text, f"{path} text echo {size}")
            data = bytes((i * 13) & 0xFF for i in range(size))
            await ws.send(data)
            check(await ws.recv() == data, f"{path} binary echo {size}")
        # An iterable is sent as one fragmented message.
        await ws.send(["frag", "mented", " \u20ac"])
        check(await ws.recv() == "fragmented \u20ac", f"{path} fragmented message")
        await ws.close(4001, "python bye")
        check(ws.close_code == 4001, f"{path} close code echoed ({ws.close_code})")


def streamed_text():
    return "".join(f"part {part} of a streamed message; " * 2000 for part in range(4))


async def streamed(compression):
    """covet streams a message in four fragments (one deflate stream when negotiated)."""
    async with websockets.connect(base + "/stream", compression=compression, max_size=None) as ws:
        check(await ws.recv() == streamed_text(), f"/stream compression={compression}: streamed message whole")


async def main():
    global failed
    try:
        await streamed("deflate")
        await streamed(None)
        await run("/echo-plain", None)
        await run("/echo", "deflate")
    except Exception as error:  # noqa: BLE001 - report anything as a failure
        failed += 1
        print(f"FAILED: {error!r}", file=sys.stderr)


asyncio.run(asyncio.wait_for(main(), 120))
print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
