#!/usr/bin/env python3
"""python-engineio's ``AsyncServer`` on aiohttp, as an echo server for our client
(tests/tests/client_py_server.rs).

    python3 py_server.py --ping-interval MS --ping-timeout MS

Listens on 127.0.0.1, a free port, path /engine.io/, and prints one JSON line per event:

    {"listening": PORT}                                   once, when ready
    {"event": "connection", "sid", "transport"}           a session opened
    {"event": "message", "sid", "transport", "type", "value"}
        a message received: type "text" with the string, "binary" with the bytes as numbers,
        or the Python type of what python-engineio made of a text that parses as JSON
    {"event": "upgrade", "sid", "transport"}              the session upgraded
    {"event": "pong", "sid"}                              the client answered a ping
    {"event": "close", "sid", "reason"}                   the session ended, and why
    {"event": "log", "level", "message", "exception"}     the server logged a warning or error

Every message is echoed in kind, except the text "close me", which makes the server close the
session (``disconnect(sid)``). The script does not judge: the Rust test asserts on these
lines. It exits when its standard input closes (the test ended, or died) or when killed.

Notes on this server:
- ``async_handlers=False``: python-engineio runs each message handler as its own task by
  default, so echoes could leave in another order than the messages came; inline handlers
  echo in arrival order, as the JS server does.
- The disconnect handler gets the reason (python-engineio >= 4.11).
- It has no upgrade or pong events: they are read from its own log records ("Upgrade to
  websocket successful" on a session that opened on polling, "Received packet PONG").
- Like its client, it decodes polling bodies with ``Payload``, which refuses more than 16
  packets (``max_decode_packets``); the refusal is logged ("post request handler error") and
  reported here as a "log" event.
"""
import argparse
import asyncio
import json
import logging
import socket
import sys
import traceback
from urllib.parse import parse_qs

import engineio
from aiohttp import web


def emit(line):
    print(json.dumps(line), flush=True)


def describe(data):
    """A received message as {type, value}; bytes as a list of numbers."""
    if isinstance(data, (bytes, bytearray)):
        return {'type': 'binary', 'value': list(data)}
    if isinstance(data, str):
        return {'type': 'text', 'value': data}
    return {'type': type(data).__name__, 'value': data}


class Recorder(logging.Handler):
    """Turns the server's log records into events: upgrades, pongs, warnings and errors."""

    def __init__(self, opened_on):
        super().__init__(logging.INFO)
        self.opened_on = opened_on

    def emit(self, record):
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == '%s: Upgrade to websocket successful' and args:
            sid = args[0]
            # Also logged for a session that opened on WebSocket: only an upgrade counts.
            if self.opened_on.get(sid) == 'polling':
                emit({'event': 'upgrade', 'sid': sid, 'transport': 'websocket'})
        elif record.msg == '%s: Received packet %s data %s' and len(args) >= 2 \
                and args[1] == 'PONG':
            emit({'event': 'pong', 'sid': args[0]})
        elif record.levelno >= logging.WARNING:
            exception = None
            if record.exc_info:
                exception = ''.join(traceback.format_exception(*record.exc_info)).strip()
            emit({'event': 'log', 'level': record.levelname, 'message': record.getMessage(),
                  'exception': exception})


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--ping-interval', type=int, required=True, help='milliseconds')
    parser.add_argument('--ping-timeout', type=int, required=True, help='milliseconds')
    args = parser.parse_args()

    opened_on = {}
    logger = logging.getLogger('py_server.engineio')
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(Recorder(opened_on))

    eio = engineio.AsyncServer(
        async_mode='aiohttp', ping_interval=args.ping_interval / 1000,
        ping_timeout=args.ping_timeout / 1000, async_handlers=False, logger=logger)

    @eio.on('connect')
    async def connect(sid, environ):
        transport = parse_qs(environ.get('QUERY_STRING', '')).get('transport', ['?'])[0]
        opened_on[sid] = transport
        emit({'event': 'connection', 'sid': sid, 'transport': transport})

    @eio.on('message')
    async def message(sid, data):
        emit({'event': 'message', 'sid': sid, 'transport': eio.transport(sid), **describe(data)})
        if data == 'close me':
            await eio.disconnect(sid)
        else:
            await eio.send(sid, data)

    @eio.on('disconnect')
    async def disconnect(sid, reason):
        emit({'event': 'close', 'sid': sid, 'reason': reason})

    app = web.Application()
    eio.attach(app, engineio_path='engine.io')
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    site = web.SockSite(runner, sock)
    await site.start()
    emit({'listening': sock.getsockname()[1]})

    # The test holds our standard input: its end (the test finished, or was killed) ends us.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == '__main__':
    asyncio.run(main())
