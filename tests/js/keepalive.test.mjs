// Keep-alive (PROTOCOL.md 2): the server pings an idle connection every KeepAliveInterval and
// closes it with 1001 when nothing at all arrives for 2 x KeepAliveInterval. The gateway runs with
// a 1 s interval here so the rule can be observed quickly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { ConnMsgClient } from '../../src/connmsg-js/connmsg.js';
import { startGateway } from './lib/gateway.mjs';
import { within, nextEvent } from './lib/util.mjs';

let gw;
const sockets = [];
before(async () => { gw = await startGateway({ args: ['--ConnMsg:KeepAliveInterval=00:00:01'] }); });
after(async () => {
  for (const s of sockets) s.terminate();
  await gw?.stop();
});

function open(options) {
  const ws = new WebSocket(gw.ws, ['connmsg.v1'], options);
  sockets.push(ws);
  ws.on('error', () => {});
  ws.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  return within(new Promise((resolve) => ws.once('open', () => resolve(ws))), 5000, 'open');
}

test('a silent client (no pongs, nothing sent) is pinged and then closed with 1001', async () => {
  const ws = await open({ autoPong: false });
  let pings = 0;
  ws.on('ping', () => pings++);
  const t0 = Date.now();
  const code = await within(ws.closed, 10000, 'server closes the silent connection');
  const elapsed = Date.now() - t0;
  assert.equal(code, 1001);
  assert.ok(pings >= 1, 'the server pinged before giving up');
  assert.ok(elapsed >= 1500, `closed after ${elapsed} ms, expected about 2 x KeepAliveInterval (2 s)`);
});

test('a client that answers pings stays open through several keep-alive periods', async () => {
  const ws = await open();
  const seen = new Promise((resolve) => { let n = 0; ws.on('ping', () => { if (++n === 4) resolve(); }); });
  await within(seen, 10000, 'four server pings');
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.send(JSON.stringify({ type: 'req', id: 1, op: 'echo', data: 'alive' }));
  const answer = await within(new Promise((resolve) => ws.on('message', (d) => { const m = JSON.parse(d); if (m.id === 1) resolve(m); })), 5000, 'echo');
  assert.equal(answer.data, 'alive');
});

test('$session reports the configured keepAlive, and connmsg.js stays open through it', async () => {
  const client = new ConnMsgClient(gw.ws, { WebSocket, pingInterval: 0 });
  try {
    const session = await nextEvent(client, 'session');
    assert.equal(session.keepAlive, 1);
    const ws = client.socket;
    const seen = new Promise((resolve) => { let n = 0; ws.on('ping', () => { if (++n === 3) resolve(); }); });
    await within(seen, 10000, 'three server pings');
    assert.equal(client.state, 'open');
    assert.equal(await client.request('echo', 'still here'), 'still here');
  } finally {
    client.close();
  }
});
