#!/usr/bin/env node
// The reference engine.io-client (Node) against the custom_loop example; the Rust test
// core/tests/custom_loop_js.rs runs it:
//
//   NODE_PATH=tests/interop/node_modules node js_check.js http://127.0.0.1:PORT
//
// Connects once in each mode (polling, websocket, polling then upgrade), all at the same time.
// On open each socket sends a multi-byte text, a binary message and 200 numbered messages.
// Once they are all echoed, it has seen 3 pings and (upgrade mode) it is upgraded, it sends
// "last", and after that echo it closes. It prints one JSON array, one object per mode, with
// what it saw. The script does not judge: the Rust test does.
'use strict';

const { Socket } = require('engine.io-client');

const url = process.argv[2];
const MODES = { polling: ['polling'], websocket: ['websocket'], upgrade: ['polling', 'websocket'] };
const TEXT = 'héllo wörld ✓ 🦀';
const NUMBERED = 200;
const FIRST_ECHOES = 2 + NUMBERED;

/** A received message: text as is, binary as `{binary: [bytes]}`. */
function describe(data) {
  if (typeof data === 'string') return data;
  if (data === undefined) return null;
  const bytes = data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { binary: Array.from(bytes) };
}

function check(mode) {
  return new Promise((resolve) => {
    const log = {
      mode, open_transport: null, upgraded_to: null, final_transport: null,
      messages: [], pings: 0, close_reason: null, errors: [],
    };
    let stage = 'echoes';
    const finish = (error) => {
      clearTimeout(timer);
      if (error) log.error = error;
      resolve(log);
    };
    const timer = setTimeout(() => {
      finish(`timeout in stage ${stage}`);
      socket.close();
    }, 10000);
    const socket = new Socket(url, { transports: MODES[mode], upgrade: mode === 'upgrade' });
    const step = () => {
      const upgraded = mode !== 'upgrade' || log.upgraded_to;
      if (stage === 'echoes' && log.messages.length >= FIRST_ECHOES && log.pings >= 3 && upgraded) {
        stage = 'last';
        socket.send('last');
      } else if (stage === 'last' && log.messages.length > FIRST_ECHOES) {
        stage = 'closing';
        log.final_transport = socket.transport.name;
        socket.close();
      }
    };
    socket.on('open', () => {
      log.open_transport = socket.transport.name;
      socket.send(TEXT);
      socket.send(Uint8Array.from([0, 1, 2, 255]));
      for (let i = 0; i < NUMBERED; i++) socket.send(`msg ${i}`);
    });
    socket.on('upgrade', (transport) => { log.upgraded_to = transport.name; step(); });
    socket.on('ping', () => { log.pings += 1; step(); });
    socket.on('message', (data) => { log.messages.push(describe(data)); step(); });
    socket.on('error', (err) => log.errors.push(String((err && err.message) || err)));
    socket.on('close', (reason) => {
      log.close_reason = reason;
      finish(stage === 'closing' ? null : `closed in stage ${stage}`);
    });
  });
}

Promise.all(Object.keys(MODES).map(check)).then((results) => {
  console.log(JSON.stringify(results));
  process.exit(0);
});
