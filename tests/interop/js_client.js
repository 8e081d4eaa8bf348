#!/usr/bin/env node
// The reference engine.io-client (Node) against an Engine.IO echo server
// (tests/tests/js_client.rs runs it against ours).
//
//   node js_client.js --url http://127.0.0.1:PORT --mode polling|websocket|upgrade --scenario NAME
//
// Runs one scenario on a fresh socket and prints one JSON line,
// {"scenario", "mode", "ok", ...what was observed}. The script does not judge: it reports
// the messages echoed, transports, close reasons and counts, and the Rust test asserts them.
// "ok": false only means the scenario could not run to its end (a timeout, an early close);
// "error" says why. Set DEBUG=engine* to trace the client.
'use strict';

const { Socket } = require('engine.io-client');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const { url, mode, scenario } = args;
const TRANSPORTS = { polling: ['polling'], websocket: ['websocket'], upgrade: ['polling', 'websocket'] };
if (!url || !TRANSPORTS[mode]) {
  console.error('usage: js_client.js --url URL --mode polling|websocket|upgrade --scenario NAME');
  process.exit(2);
}

/** A new socket on the mode's transports; `log` records its events. */
function connect() {
  const socket = new Socket(url, { transports: TRANSPORTS[mode], upgrade: mode === 'upgrade' });
  socket.log = { messages: [], closes: [], errors: [], pings: 0, handshake: null };
  socket.on('handshake', (data) => { socket.log.handshake = data; socket.log.sid = data.sid; });
  socket.on('open', () => { socket.log.openedAt = Date.now(); });
  socket.on('message', (data) => socket.log.messages.push(data));
  socket.on('ping', () => { socket.log.pings += 1; });
  socket.on('error', (err) => socket.log.errors.push(String(err && err.message || err)));
  socket.on('close', (reason, description) => {
    socket.log.closes.push(reason);
    socket.log.closeDescription = description ? String(description.description || description.message || description) : null;
  });
  return socket;
}

/** Resolves when `check()` holds, re-checked on every event of `socket`; rejects after `ms`. */
function until(socket, what, ms, check) {
  return new Promise((resolve, reject) => {
    const events = ['open', 'upgrade', 'message', 'close', 'ping', 'error'];
    const done = () => { clearTimeout(timer); events.forEach((e) => socket.off(e, test)); };
    const test = () => {
      if (check()) { done(); resolve(); return; }
      if (socket.log.closes.length && what !== 'close') {
        done(); reject(new Error(`closed (${socket.log.closes}) while waiting for ${what}`));
      }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`timeout (${ms} ms) waiting for ${what}`)); }, ms);
    events.forEach((e) => socket.on(e, test));
    setImmediate(test);
  });
}

/** Waits for the socket to be open and, in upgrade mode, upgraded. */
async function ready(socket) {
  await until(socket, 'open', 5000, () => socket.readyState === 'open');
  socket.log.openTransport = socket.transport.name;
  if (mode === 'upgrade') await until(socket, 'upgrade', 5000, () => socket.log.upgradedTo);
}

/** Waits for `count` messages in the socket's log. */
function echoes(socket, count, ms = 5000) {
  return until(socket, `${count} messages`, ms, () => socket.log.messages.length >= count);
}

/** Closes from the client and returns the reason the socket reported. */
async function closeFromClient(socket) {
  socket.close();
  await until(socket, 'close', 2000, () => socket.log.closes.length > 0);
  return socket.log.closes;
}

/** A received message as `{type, value}` (binary as its bytes). */
function describe(data) {
  if (typeof data === 'string') return { type: 'string', value: data };
  // engine.io-parser decodes a message packet without payload ("4", an empty text) to data
  // `undefined`: the reference client's behaviour, whatever the server.
  if (data === undefined) return { type: 'undefined', value: null };
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { type: Buffer.isBuffer(data) ? 'Buffer' : data.constructor.name, value: Array.from(bytes) };
}

function withUpgradeLog(socket) {
  socket.on('upgrade', (transport) => { socket.log.upgradedTo = transport.name; });
  return socket;
}

const scenarios = {
  // Open: sid, transport, the handshake's values; upgrade mode: the upgrade to websocket.
  async handshake(socket) {
    await ready(socket);
    const finalTransport = socket.transport.name;
    return {
      sid: socket.id, open_transport: socket.log.openTransport, upgraded_to: socket.log.upgradedTo || null,
      final_transport: finalTransport, handshake: socket.log.handshake, close_reasons: await closeFromClient(socket),
    };
  },

  // Multi-byte and empty text, echoed exactly (upgrade mode: sent on the upgraded socket).
  async text(socket) {
    await ready(socket);
    socket.send('héllo wörld ✓ 🦀');
    socket.send('');
    await echoes(socket, 2);
    return { sid: socket.id, transport: socket.transport.name, echoed: socket.log.messages.map(describe), close_reasons: await closeFromClient(socket) };
  },

  // Binary (bytes 0, 1, 2, 255 and an empty buffer), echoed as binary.
  async binary(socket) {
    await ready(socket);
    socket.send(Uint8Array.from([0, 1, 2, 255]));
    socket.send(new Uint8Array(0));
    await echoes(socket, 2);
    return { sid: socket.id, transport: socket.transport.name, echoed: socket.log.messages.map(describe), close_reasons: await closeFromClient(socket) };
  },

  // 1 000 numbered messages sent at once from `open` (upgrade mode: across the upgrade).
  async ordering(socket) {
    await until(socket, 'open', 5000, () => socket.readyState === 'open');
    for (let i = 0; i < 1000; i++) socket.send(`msg ${i}`);
    await echoes(socket, 1000, 10000);
    if (mode === 'upgrade') await until(socket, 'upgrade', 5000, () => socket.log.upgradedTo);
    return { sid: socket.id, sent: 1000, echoed: socket.log.messages, final_transport: socket.transport.name, close_reasons: await closeFromClient(socket) };
  },

  // Upgrade mode: numbered messages every millisecond from `open` until 100 ms after the
  // `upgrade` event, plus a burst of 10 when the probe succeeds (`upgrading`), so that
  // some are written while the polling transport is paused for the upgrade.
  async upgrade_messages(socket) {
    let sent = 0;
    const phases = { before_upgrading: 0, during_upgrade: 0, after_upgrade: 0 };
    let phase = 'before_upgrading';
    const send = () => { socket.send(`u ${sent}`); sent += 1; phases[phase] += 1; };
    socket.on('upgrading', () => { phase = 'during_upgrade'; for (let i = 0; i < 10; i++) send(); });
    socket.on('upgrade', () => { phase = 'after_upgrade'; });
    await until(socket, 'open', 5000, () => socket.readyState === 'open');
    send(); // at least one before the probe answers
    const ticker = setInterval(send, 1);
    try {
      await until(socket, 'upgrade', 5000, () => socket.log.upgradedTo);
      await new Promise((resolve) => setTimeout(resolve, 100)); // keep sending after the upgrade
    } finally {
      clearInterval(ticker);
    }
    await echoes(socket, sent, 5000);
    return { sid: socket.id, sent, ...phases, echoed: socket.log.messages, final_transport: socket.transport.name, close_reasons: await closeFromClient(socket) };
  },

  // Connected through 7 pings of the server (300 ms apart: over 2 s from the open, nearly
  // twice its ping interval + ping timeout), then one more echo.
  async heartbeat(socket) {
    await ready(socket);
    await until(socket, '7 pings', 5000, () => socket.log.pings >= 7);
    const stayed = Date.now() - socket.log.openedAt;
    const closedEarly = socket.log.closes.slice();
    socket.send('still alive');
    await echoes(socket, 1);
    return {
      sid: socket.id, stayed_ms: stayed, pings: socket.log.pings, closed_early: closedEarly,
      echoed: socket.log.messages, transport: socket.transport.name, close_reasons: await closeFromClient(socket),
    };
  },

  // socket.close() after an echo: "forced close" here, ClientDisconnect on the server.
  async client_close(socket) {
    await ready(socket);
    socket.send('hello');
    await echoes(socket, 1);
    return { sid: socket.id, transport: socket.transport.name, echoed: socket.log.messages, close_reasons: await closeFromClient(socket) };
  },

  // "close me": the server disconnects us; "transport close" here.
  async server_close(socket) {
    await ready(socket);
    const sid = socket.id; // the socket forgets it when it closes
    const transport = socket.transport.name;
    socket.send('close me');
    await until(socket, 'close', 5000, () => socket.log.closes.length > 0);
    return { sid, transport, close_reasons: socket.log.closes, close_description: socket.log.closeDescription, messages: socket.log.messages };
  },
};

async function main() {
  const run = scenarios[scenario];
  if (!run) {
    console.error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  const socket = withUpgradeLog(connect());
  let result;
  try {
    result = { scenario, mode, ok: true, ...(await run(socket)) };
  } catch (err) {
    result = { scenario, mode, ok: false, error: String(err && err.message || err), sid: socket.log.sid || null, log: socket.log };
    socket.close();
  }
  result.errors = socket.log.errors;
  console.log(JSON.stringify(result));
  // Let the close packet go out, but never hang.
  setTimeout(() => { console.error('js_client: still running 3 s after the result, exiting'); process.exit(0); }, 3000).unref();
}

main();
