#!/usr/bin/env python3
"""python-engineio's sync ``engineio.Client`` against an Engine.IO echo server
(tests/tests/py_client.rs runs it against ours).

    python3 py_client.py --url http://127.0.0.1:PORT --mode polling|websocket|upgrade --scenario NAME

Runs one scenario on a fresh client and prints one JSON line,
{"scenario", "mode", "ok", ...what was observed}. The script does not judge: it reports the
messages echoed, transports, disconnect reasons and counts, and the Rust test asserts them.
"ok": false only means the scenario could not run to its end; "error" says why.

Notes on this client:
- It decodes every received text that parses as JSON into an object (packet.py; only texts
  starting with a digit are left alone), so the scenarios send texts that are not JSON
  ("héllo wörld ✓ 🦀", "", "msg 7") and get them back as ``str``.
- It runs each message handler in a new thread, so the order in which handlers run is the
  OS scheduler's; ``OrderedClient`` runs them inline in the read loop to observe the order
  the messages arrived in.
- It refuses a polling response of more than 16 packets (``Payload.max_decode_packets``) and
  drops the connection, so the scenarios keep at most 10 messages in flight.
- Its upgrade runs inside ``connect()``: nothing can be sent while it happens.
- Its ``disconnect()`` races its own write loop (see ``Wire``): what the server sees depends
  on what went out first, so the script reports it ("close_packet_first").
- Its warnings (logged through the ``logger`` it is given) are reported: those before the
  connection starts ending in "errors", those after in "warnings_at_end".
"""
import argparse
import json
import logging
import sys
import threading
import time

import engineio
import requests
import websocket

TRANSPORTS = {'polling': ['polling'], 'websocket': ['websocket'], 'upgrade': None}
TEXT = 'héllo wörld ✓ 🦀'
WINDOW = 10


class Wire:
    """What the client wrote, in order: polling POST bodies and WebSocket frames.

    python-engineio's ``disconnect()`` races its own write loop: it queues the close packet,
    then, on WebSocket, closes the WebSocket at once (the close frame can precede the
    packet), and on polling the write loop can exit without sending the packet if it was
    busy with an earlier POST. The server's reason depends on what went out first, so the
    script records it (through the client's public ``http_session`` and
    ``websocket_extra_options``) and the Rust test asserts the reason that order implies.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def close_packet_first(self):
        """True if a close packet (``1``) went out before any WebSocket close frame."""
        with self.lock:
            for kind, data in self.events:
                if kind == 'close-frame':
                    return False
                if kind in ('post', 'text') and '1' in data.split('\x1e'):
                    return True
        return False


WIRE = Wire()


class RecordingSession(requests.Session):
    """The polling client's HTTP session, recording the POST bodies that were answered."""

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        if method == 'POST':
            body = kwargs.get('data') or b''
            with WIRE.lock:
                WIRE.events.append(('post', body.decode() if isinstance(body, bytes) else body))
        return response


class RecordingWebSocket(websocket.WebSocket):
    """The WebSocket client, recording text and close frames in the order they are written."""

    def send_frame(self, frame):
        with WIRE.lock:
            length = super().send_frame(frame)
            if frame.opcode == websocket.ABNF.OPCODE_TEXT:
                data = frame.data
                WIRE.events.append(('text', data.decode() if isinstance(data, bytes) else data))
            elif frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                WIRE.events.append(('close-frame', ''))
        return length


class OrderedClient(engineio.Client):
    """An ``engineio.Client`` that runs message handlers in the read loop, in arrival order,
    and reports the pings it receives (``on_ping``; the client has no event for them)."""

    on_ping = None

    def _trigger_event(self, event, *args, **kwargs):
        if event == 'message':
            kwargs['run_async'] = False
        return super()._trigger_event(event, *args, **kwargs)

    def _receive_packet(self, pkt):
        super()._receive_packet(pkt)
        if pkt.packet_type == engineio.packet.PING and self.on_ping:
            self.on_ping()


class Recorder(logging.Handler):
    """Keeps the client's warnings and errors (a failed upgrade, a dropped connection)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f'{record.levelname}: {record.getMessage()}')


class Peer:
    """One client and the log of its events."""

    def __init__(self, url, mode):
        self.url, self.mode = url, mode
        logger = logging.getLogger('py_client.engineio')
        logger.setLevel(logging.WARNING)
        self.log = Recorder()
        logger.addHandler(self.log)
        self.client = OrderedClient(
            logger=logger, request_timeout=5, http_session=RecordingSession(),
            websocket_extra_options={'class_': RecordingWebSocket})
        self.messages, self.reasons = [], []
        self.pings = 0
        self.client.on_ping = self._pinged
        self.on_connect = None
        self.changed = threading.Condition()
        self.client.on('connect', self._connected)
        self.client.on('message', self._message)
        self.client.on('disconnect', self._disconnected)
        self.sid = None
        self.warnings_before_end = None

    def _connected(self):
        if self.on_connect:
            self.on_connect()

    def _message(self, data):
        with self.changed:
            self.messages.append(data)
            self.changed.notify_all()

    def _pinged(self):
        with self.changed:
            self.pings += 1
            self.changed.notify_all()

    def _disconnected(self, reason):
        with self.changed:
            self.reasons.append(reason)
            self.changed.notify_all()

    def connect(self):
        self.client.connect(self.url, transports=TRANSPORTS[self.mode])
        self.sid = self.client.sid

    def wait(self, what, predicate, timeout=5.0):
        """Waits for ``predicate`` (checked on every event) or fails after ``timeout``."""
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise TimeoutError(f'timeout ({timeout} s) waiting for {what}')

    def echoes(self, count, timeout=5.0):
        self.wait(f'{count} messages', lambda: len(self.messages) >= count, timeout)

    def ending(self):
        """From now on the connection is expected to end: the client's warnings about its
        WebSocket closing are reported apart."""
        self.warnings_before_end = list(self.log.records)

    def close(self):
        self.ending()
        self.client.disconnect()
        return self.reasons


def describe(data):
    """A received message as {type, value}; bytes as a list of numbers."""
    if isinstance(data, (bytes, bytearray)):
        return {'type': type(data).__name__, 'value': list(data)}
    return {'type': type(data).__name__, 'value': data}


def handshake(peer):
    """Connect: sid, transport, the handshake's values; upgrade mode ends on websocket."""
    peer.connect()
    client = peer.client
    return {'sid': peer.sid, 'transport': client.transport(), 'upgrades': client.upgrades,
            'ping_interval': client.ping_interval, 'ping_timeout': client.ping_timeout,
            'close_reasons': peer.close()}


def text(peer):
    """Multi-byte and empty text, echoed exactly."""
    peer.connect()
    peer.client.send(TEXT)
    peer.client.send('')
    peer.echoes(2)
    return {'sid': peer.sid, 'transport': peer.client.transport(),
            'echoed': [describe(m) for m in peer.messages], 'close_reasons': peer.close()}


def binary(peer):
    """Binary (bytes 0, 1, 2, 255 and empty), echoed as binary."""
    peer.connect()
    peer.client.send(bytes([0, 1, 2, 255]))
    peer.client.send(b'')
    peer.echoes(2)
    return {'sid': peer.sid, 'transport': peer.client.transport(),
            'echoed': [describe(m) for m in peer.messages], 'close_reasons': peer.close()}


def ordering(peer):
    """1 000 numbered messages, WINDOW at a time, echoed in order."""
    peer.connect()
    for start in range(0, 1000, WINDOW):
        for i in range(start, start + WINDOW):
            peer.client.send(f'msg {i}')
        peer.echoes(start + WINDOW)
    return {'sid': peer.sid, 'sent': 1000, 'echoed': peer.messages,
            'transport': peer.client.transport(), 'close_reasons': peer.close()}


def upgrade_messages(peer):
    """Upgrade mode: WINDOW messages queued from the connect handler, before the upgrade
    (they go out on the WebSocket), then WINDOW more once connected; all echoed in order."""
    peer.on_connect = lambda: [peer.client.send(f'u {i}') for i in range(WINDOW)]
    peer.connect()
    transport = peer.client.transport()
    for i in range(WINDOW, 2 * WINDOW):
        peer.client.send(f'u {i}')
    peer.echoes(2 * WINDOW)
    return {'sid': peer.sid, 'sent': 2 * WINDOW, 'transport': transport,
            'echoed': peer.messages, 'close_reasons': peer.close()}


def heartbeat(peer):
    """Connected through 7 pings of the server (300 ms apart: over 2 s from the handshake,
    nearly twice its ping interval + ping timeout), then one more echo."""
    started = time.monotonic()
    peer.connect()
    peer.wait('7 pings or a disconnect', lambda: peer.pings >= 7 or peer.reasons)
    stayed_ms = int((time.monotonic() - started) * 1000)
    closed_early = list(peer.reasons)
    peer.client.send('still alive')
    peer.echoes(1)
    return {'sid': peer.sid, 'stayed_ms': stayed_ms, 'pings': peer.pings,
            'closed_early': closed_early, 'echoed': peer.messages,
            'transport': peer.client.transport(), 'close_reasons': peer.close()}


def client_close(peer):
    """disconnect() after an echo."""
    peer.connect()
    peer.client.send('hello')
    peer.echoes(1)
    return {'sid': peer.sid, 'transport': peer.client.transport(), 'echoed': peer.messages,
            'close_reasons': peer.close()}


def server_close(peer):
    """"close me": the server disconnects us."""
    peer.connect()
    transport = peer.client.transport()
    peer.ending()
    peer.client.send('close me')
    peer.wait('disconnect', lambda: peer.reasons)
    return {'sid': peer.sid, 'transport': transport, 'close_reasons': peer.reasons,
            'messages': peer.messages}


SCENARIOS = {f.__name__: f for f in
             (handshake, text, binary, ordering, upgrade_messages, heartbeat, client_close,
              server_close)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--mode', required=True, choices=TRANSPORTS)
    parser.add_argument('--scenario', required=True, choices=SCENARIOS)
    args = parser.parse_args()
    peer = Peer(args.url, args.mode)
    try:
        result = {'scenario': args.scenario, 'mode': args.mode, 'ok': True,
                  **SCENARIOS[args.scenario](peer)}
    except Exception as e:  # reported, and judged by the Rust test
        result = {'scenario': args.scenario, 'mode': args.mode, 'ok': False,
                  'error': f'{type(e).__name__}: {e}', 'sid': peer.sid,
                  'messages': [describe(m) for m in peer.messages], 'reasons': peer.reasons}
        peer.client.disconnect(abort=True)
    # Warnings before the end fail the test; those after it are reported and checked apart.
    before = peer.warnings_before_end
    result['errors'] = peer.log.records if before is None else before
    result['warnings_at_end'] = peer.log.records[len(result['errors']):]
    result['close_packet_first'] = WIRE.close_packet_first()
    print(json.dumps(result), flush=True)


if __name__ == '__main__':
    sys.exit(main())
