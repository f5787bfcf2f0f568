// Graceful shutdown (PROTOCOL.md 6): on SIGTERM the server answers new requests with
// `rej shutting_down`, lets in-flight requests finish and answers them, then closes with 1001.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startGateway } from './lib/gateway.mjs';
import { within } from './lib/util.mjs';

let gw;
before(async () => { gw = await startGateway({ args: ['--ConnMsg:DrainTimeout=00:00:03', '--ConnMsg:CloseTimeout=00:00:01'] }); });
after(async () => {
  if (gw) {
    const timer = setTimeout(() => gw.kill('SIGKILL'), 5000);
    await gw.stop();
    clearTimeout(timer);
  }
});

test('SIGTERM: in-flight request answered, new request rejected shutting_down, close 1001, process exits', async () => {
  const ws = new WebSocket(gw.ws, ['connmsg.v1']);
  ws.on('error', () => {});
  const messages = [];
  const waiters = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  const next = (pred) => {
    const m = messages.find(pred);
    return m ? Promise.resolve(m) : within(new Promise((resolve) => waiters.push({ pred, resolve })), 10000, 'message');
  };
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  await within(new Promise((r) => ws.once('open', r)), 5000, 'open');
  await next((m) => m.topic === '$session');

  ws.send(JSON.stringify({ type: 'req', id: 'long', op: 'sleep', data: { ms: 1000 } }));
  // Make sure the sleep is being handled before the signal: a later request's answer proves it was read.
  ws.send(JSON.stringify({ type: 'req', id: 'mark', op: 'echo', data: null }));
  await next((m) => m.id === 'mark');
  gw.kill('SIGTERM');

  // Poll for the drain to be visible: a new request must be refused from now on.
  let refused = null;
  const deadline = Date.now() + 3000;
  for (let n = 0; !refused && Date.now() < deadline; n++) {
    ws.send(JSON.stringify({ type: 'req', id: `new${n}`, op: 'echo', data: n }));
    const a = await next((m) => m.id === `new${n}`);
    if (a.type === 'rej') refused = a;
    else await new Promise((r) => setTimeout(r, 25)); // poll interval of a bounded wait
  }
  assert.ok(refused, 'a request sent while draining is rejected');
  assert.equal(refused.code, 'shutting_down');
  assert.deepEqual(await next((m) => m.id === 'long'), { type: 'cfm', id: 'long', data: { slept: 1000 } });
  assert.equal(await within(closed, 10000, 'close from the server'), 1001);
  const exit = await within(gw.exit, 10000, 'gateway process exit');
  assert.equal(exit.signal, null, `exited by itself, not killed: ${JSON.stringify(exit)}`);
});
