#!/usr/bin/env python3
"""TCP proxy for `scripts/bench aws` that adds a fixed delay to every HTTP request.

    delay_proxy.py --listen PORT --upstream PORT [--delay-ms 200] [--tls-cert C --tls-key K]

Listens on 127.0.0.1:PORT (loopback only) and forwards each connection to
127.0.0.1:UPSTREAM. On the client -> server side it follows HTTP/1.1 request
framing (head up to CRLFCRLF, then Content-Length bytes of body, or a chunked
body up to its terminating chunk) and, when the first bytes of a NEW request
arrive, sleeps --delay-ms before forwarding that request. So the delay is per
request, also for requests that reuse a kept-alive connection, and requests on
different connections are delayed concurrently (as a slow network would).
Responses are relayed as they come.

With --tls-cert/--tls-key it accepts TLS on the listening side (the client
verifies that certificate) and speaks plain HTTP to the upstream, so the
per-request framing above still sees the requests of an HTTPS client.

Each delayed request is logged to stderr as one line
`request N conn C: <request line> <X-Amz-Target>` so the harness can count
the round trips a run made.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

COUNT = 0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


async def pipe_plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def header_value(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip()
    return None


async def pipe_requests(reader, writer, delay: float, conn: int) -> None:
    """client -> server, delaying the start of each HTTP request."""
    global COUNT
    state = "idle"  # idle | head | body | chunked
    head = b""
    body_left = 0
    tail = b""  # chunked: last bytes seen, to spot the 0-size terminator
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            while data:
                if state == "idle":
                    await asyncio.sleep(delay)
                    state, head = "head", b""
                if state == "head":
                    before = len(head)
                    head += data
                    end = head.find(b"\r\n\r\n")
                    if end < 0:
                        writer.write(data)
                        data = b""
                        if len(head) > 1 << 20:
                            raise ConnectionError("request head over 1 MiB")
                        continue
                    used = end + 4 - before
                    writer.write(data[:used])
                    data = data[used:]
                    hdr = head[: end + 4]
                    COUNT += 1
                    target = header_value(hdr, b"x-amz-target") or b""
                    first = hdr.split(b"\r\n", 1)[0].decode("latin-1")
                    log(f"request {COUNT} conn {conn}: {first} {target.decode('latin-1')}")
                    te = (header_value(hdr, b"transfer-encoding") or b"").lower()
                    if b"chunked" in te:
                        state, tail = "chunked", b""
                    else:
                        body_left = int(header_value(hdr, b"content-length") or b"0")
                        state = "body" if body_left > 0 else "idle"
                elif state == "body":
                    take = min(len(data), body_left)
                    writer.write(data[:take])
                    data = data[take:]
                    body_left -= take
                    if body_left == 0:
                        state = "idle"
                elif state == "chunked":
                    # Simplified: the body ends at the first "\r\n0\r\n\r\n" (no trailers).
                    window = tail + data
                    end = window.find(b"0\r\n\r\n")
                    if end >= 0 and (end == 0 or window[end - 2 : end] == b"\r\n"):
                        used = end + 5 - len(tail)
                        writer.write(data[:used])
                        data = data[used:]
                        state = "idle"
                    else:
                        writer.write(data)
                        tail = window[-8:]
                        data = b""
            await writer.drain()
    except (ConnectionError, ValueError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, default=200.0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    ssl_ctx = None
    if a.tls_cert:
        import ssl

        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(a.tls_cert, a.tls_key)
    delay = a.delay_ms / 1000.0
    conns = 0

    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        nonlocal conns
        conns += 1
        conn = conns
        try:
            ur, uw = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", a.upstream), 10)
        except (OSError, asyncio.TimeoutError) as e:
            log(f"conn {conn}: upstream: {e}")
            cw.close()
            return
        await asyncio.gather(pipe_requests(cr, uw, delay, conn), pipe_plain(ur, cw))

    server = await asyncio.start_server(handle, "127.0.0.1", a.listen, ssl=ssl_ctx)
    log(f"listening on 127.0.0.1:{a.listen} -> 127.0.0.1:{a.upstream}, +{a.delay_ms:g} ms per request")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
