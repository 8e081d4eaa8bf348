#!/usr/bin/env node
// The reference Engine.IO server, npm `engine.io` 6.6.13 on Node, as an echo server for our
// client (tests/tests/client_js_server.rs).
//
//   node js_server.js --ping-interval MS --ping-timeout MS
//
// Listens on 127.0.0.1, a free port, path /engine.io/, and prints one JSON line per event:
//   {"listening": PORT}                                   once, when ready
//   {"event": "connection", "sid", "transport"}           a session opened
//   {"event": "message", "sid", "transport", "type", "value"}
//       a message received (type "text" with the string, "binary" with the bytes as numbers,
//       "undefined" for the empty text: engine.io-parser decodes a bare `4` to no data)
//   {"event": "upgrade", "sid", "transport"}              the session upgraded
//   {"event": "pong", "sid"}                              the client answered a ping
//   {"event": "close", "sid", "reason", "description"}    the session ended, and why
//   {"event": "connection_error", "code", "message"}      a request was refused
// Every message is echoed in kind (text as text, binary as binary), except the text
// "close me", which makes the server close the session (`socket.close()`). The script does
// not judge: the Rust test asserts on these lines. It exits when its standard input closes
// (the test ended, or died) or when killed. Set DEBUG=engine* to trace the server.
'use strict';

const http = require('http');
const { Server } = require('engine.io');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const pingInterval = Number(args['ping-interval']);
const pingTimeout = Number(args['ping-timeout']);
if (!(pingInterval > 0) || !(pingTimeout > 0)) {
  console.error('usage: js_server.js --ping-interval MS --ping-timeout MS');
  process.exit(2);
}

// Pipes are written synchronously on Linux: each line is out before the next event.
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** A received message as {type, value} (binary as its bytes). */
function describe(data) {
  if (typeof data === 'string') return { type: 'text', value: data };
  if (data === undefined) return { type: 'undefined', value: null };
  const bytes = new Uint8Array(data.buffer || data, data.byteOffset || 0, data.byteLength);
  return { type: 'binary', value: Array.from(bytes) };
}

const engine = new Server({ pingInterval, pingTimeout });
engine.on('connection', (socket) => {
  const sid = socket.id;
  print({ event: 'connection', sid, transport: socket.transport.name });
  socket.on('message', (data) => {
    print({ event: 'message', sid, transport: socket.transport.name, ...describe(data) });
    if (data === 'close me') {
      socket.close();
    } else {
      socket.send(data);
    }
  });
  socket.on('upgrade', (transport) => print({ event: 'upgrade', sid, transport: transport.name }));
  // engine.io 6 (protocol 4) emits `heartbeat` when the client's pong arrives.
  socket.on('heartbeat', () => print({ event: 'pong', sid }));
  socket.on('close', (reason, description) => {
    const detail = description && (description.message || description.description || String(description));
    print({ event: 'close', sid, reason, description: detail || null });
  });
});
engine.on('connection_error', (err) => {
  print({ event: 'connection_error', code: err.code, message: err.message });
});

const httpServer = http.createServer();
engine.attach(httpServer, { path: '/engine.io/' });
httpServer.listen(0, '127.0.0.1', () => print({ listening: httpServer.address().port }));

// The test holds our standard input: its end (the test finished, or was killed) ends us.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
