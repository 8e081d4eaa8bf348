#!/usr/bin/env node
// The npm engine.io 6.6 server (the one tests/interop installs) as an echo server, for
// scripts/bench-load to run next to ours (examples/echo.rs) under the same load.
//
//   node bench/node/echo.js --port 0
//
// Same conventions as our echo example: 127.0.0.1, path /engine.io/, both transports, default
// ping settings (25 s / 20 s), maxHttpBufferSize 1e6, every message echoed in kind (text as
// text, binary as binary), and one line `listening on http://127.0.0.1:<port>` once it accepts
// connections. Nothing else is printed: per-message logging would be measured too.
'use strict';

const http = require('http');
const path = require('path');

const { Server } = require(path.join(__dirname, '..', '..', 'tests', 'interop', 'node_modules', 'engine.io'));

let port = 5000;
for (let i = 2; i < process.argv.length; i += 1) {
  const arg = process.argv[i];
  if (arg === '--port') {
    port = Number(process.argv[(i += 1)]);
  } else if (arg.startsWith('--port=')) {
    port = Number(arg.slice('--port='.length));
  } else {
    console.error(`unknown argument ${arg} (usage: echo.js --port N)`);
    process.exit(2);
  }
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: echo.js --port N (0 picks a free port)');
  process.exit(2);
}

const engine = new Server({
  maxHttpBufferSize: 1e6,
  transports: ['polling', 'websocket'],
});
engine.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});

const httpServer = http.createServer();
engine.attach(httpServer, { path: '/engine.io/' });
httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${httpServer.address().port}\n`);
});

// A plain `kill` (SIGTERM) ends the process at once, as it does for the Rust servers.
process.on('SIGTERM', () => process.exit(0));
