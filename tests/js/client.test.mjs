// connmsg.js against the real gateway, with `ws` as the WebSocket implementation.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { ConnMsgClient, ConnMsgRejected, ConnMsgError } from '../../src/connmsg-js/connmsg.js';
import { startGateway } from './lib/gateway.mjs';
import { nextEvent, collector, uniq } from './lib/util.mjs';

let gw;
const clients = [];

function client(extra = {}) {
  const c = new ConnMsgClient(gw.ws, { WebSocket, pingInterval: 0, reconnect: { minDelay: 50, maxDelay: 500 }, ...extra });
  clients.push(c);
  return c;
}

// demo.ask (server-initiated requests) is off by default in the gateway; turn it on.
// History topics count seq from 0 here, so that a seq reads as the number of Inds published; the browser suite runs
// the gateway's default, seq counted from the clock.
before(async () => { gw = await startGateway({ args: ['--Demo:ServerRequests=true', '--ConnMsg:HistorySeqFromClock=false'] }); });
after(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
});

describe('requests', () => {
  test('connects with subprotocol connmsg.v1, passes through connecting to open, reads $session', async () => {
    const c = client({ autoConnect: false });
    const states = collector();
    c.on('state', (e) => states(e.state));
    const session = nextEvent(c, 'session');
    await c.connect();
    assert.deepEqual(states.items, ['connecting', 'open']);
    assert.equal(c.socket.protocol, 'connmsg.v1');
    const s = await session;
    assert.equal(typeof s.id, 'string');
    assert.ok(s.id.length > 0);
    assert.equal(s.maxMessage, 65536);
    assert.equal(c.maxMessage, 65536);
    assert.equal(s.maxInFlight, 256);
  });

  test('echo returns the data of the request, for every kind of JSON value', async () => {
    const c = client();
    const values = [null, 0, -1.5, 2 ** 53 - 1, 'text', 'ünïcødé ✓ 😀', true, false, [], [1, [2, [3]]], {}, { a: { b: [null, 'x'] } }];
    const answers = await Promise.all(values.map((v) => c.request('echo', v)));
    assert.deepEqual(answers, values);
    assert.equal(await c.request('echo'), null, 'absent data means null');
  });

  test('answers arrive out of order and are matched by id', async () => {
    const c = client();
    const order = [];
    const slow = c.request('sleep', { ms: 400 }).then((d) => { order.push('slow'); return d; });
    const fast = c.request('sleep', { ms: 10 }).then((d) => { order.push('fast'); return d; });
    assert.deepEqual(await Promise.all([slow, fast]), [{ slept: 400 }, { slept: 10 }]);
    assert.deepEqual(order, ['fast', 'slow']);
  });

  test('time returns an ISO 8601 UTC time close to now', async () => {
    const c = client();
    const { utc } = await c.request('time');
    const t = Date.parse(utc);
    assert.ok(Number.isFinite(t), `unparseable time ${utc}`);
    assert.ok(Math.abs(t - Date.now()) < 60000);
  });

  test('fail rejects with ConnMsgRejected carrying the code and reason', async () => {
    const c = client();
    await assert.rejects(c.request('fail', { code: 'forbidden', reason: 'not you' }), (e) => {
      assert.ok(e instanceof ConnMsgRejected);
      assert.ok(e instanceof ConnMsgError);
      assert.equal(e.code, 'forbidden');
      assert.equal(e.reason, 'not you');
      assert.equal(e.op, 'fail');
      return true;
    });
  });

  test('unknown op rejects unknown_op; sleep out of range rejects invalid_argument', async () => {
    const c = client();
    await assert.rejects(c.request('no.such.op', 1), (e) => e instanceof ConnMsgRejected && e.code === 'unknown_op');
    await assert.rejects(c.request('sleep', { ms: 60001 }), (e) => e instanceof ConnMsgRejected && e.code === 'invalid_argument');
    await assert.rejects(c.request('sleep', { ms: -1 }), (e) => e instanceof ConnMsgRejected && e.code === 'invalid_argument');
  });

  test('a request that times out rejects request_timeout and its late answer is discarded', async () => {
    const c = client();
    await c.whenOpen();
    const errors = collector();
    c.on('error', errors);
    const late = nextEvent(c, 'late', () => true, 5000);
    await assert.rejects(c.request('sleep', { ms: 300 }, { timeout: 50 }), (e) => e.code === 'request_timeout');
    const ev = await late;
    assert.equal(ev.type, 'cfm');
    assert.deepEqual(ev.data, { slept: 300 });
    assert.equal(errors.items.length, 0);
    assert.equal(await c.request('echo', 'still fine'), 'still fine');
  });

  test('an aborted request rejects with the signal reason and its late answer is discarded', async () => {
    const c = client();
    await c.whenOpen();
    const ac = new AbortController();
    const late = nextEvent(c, 'late', () => true, 5000);
    const p = c.request('sleep', { ms: 200 }, { signal: ac.signal });
    ac.abort(new Error('user gave up'));
    await assert.rejects(p, /user gave up/);
    assert.deepEqual((await late).data, { slept: 200 });
    await assert.rejects(c.request('echo', 1, { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
  });

  test('requests in flight when the connection drops reject with connection_lost', async () => {
    const c = client();
    await c.whenOpen();
    const inflight = c.request('sleep', { ms: 5000 });
    const reconnected = nextEvent(c, 'state', (e) => e.state === 'open');
    c.socket.terminate();
    await assert.rejects(inflight, (e) => {
      assert.ok(e instanceof ConnMsgError);
      assert.equal(e.code, 'connection_lost');
      assert.match(e.message, /connection lost.*'sleep'/);
      return true;
    });
    await reconnected;
    assert.equal(await c.request('echo', 'after'), 'after');
  });

  test('a message over maxMessage is refused locally (UTF-8 bytes) and the connection stays open', async () => {
    const c = client();
    await nextEvent(c, 'session');
    const overhead = JSON.stringify({ type: 'req', id: 1000, op: 'echo', data: '' }).length;
    const fits = 'a'.repeat(65536 - overhead - 100);
    assert.equal(await c.request('echo', fits), fits, 'a message just under the limit goes through');
    await assert.rejects(c.request('echo', 'a'.repeat(70000)), (e) => e.code === 'message_too_large' && e.limit === 65536);
    // 30000 two-byte characters: fewer than 65536 characters, more than 65536 bytes.
    await assert.rejects(c.request('echo', 'é'.repeat(33000)), (e) => e.code === 'message_too_large' && e.size > 65536);
    assert.equal(c.state, 'open');
    assert.equal(await c.request('echo', 'ok'), 'ok');
  });

  test('$ping answers and the client reports its round-trip time', async () => {
    const c = client({ pingInterval: 50 });
    const { rtt } = await nextEvent(c, 'ping', () => true, 5000);
    assert.ok(rtt >= 0 && rtt < 5000);
    assert.deepEqual(await c.request('$ping', { n: 7 }), { n: 7 }, '$ping echoes its data');
  });

  test('close() ends the client: state closed, later requests reject with closed', async () => {
    const c = client();
    await c.whenOpen();
    const closed = nextEvent(c, 'state', (e) => e.state === 'closed');
    c.close();
    await closed;
    await assert.rejects(c.request('echo', 1), (e) => e.code === 'closed');
  });
});

describe('subscriptions', () => {
  test('subscribe delivers published Inds; unsubscribe stops them', async () => {
    const sub = client();
    const pub = client();
    const topic = uniq('demo.t');
    const got = collector();
    const unsubscribe = sub.subscribe(topic, (data, ind) => got({ data, ind }));
    await unsubscribe.ready;
    assert.deepEqual(await pub.request('publish', { topic, data: { n: 1 } }), { subscribers: 1 });
    await got.waitFor(1);
    assert.deepEqual(got.items[0].data, { n: 1 });
    assert.equal(got.items[0].ind.topic, topic);
    const who = await sub.request('whoami');
    assert.ok(who.subscriptions.includes(topic), `whoami lists ${topic}: ${JSON.stringify(who)}`);
    await unsubscribe();
    assert.deepEqual(await pub.request('publish', { topic, data: { n: 2 } }), { subscribers: 0 });
    assert.ok(!(await sub.request('whoami')).subscriptions.includes(topic));
    assert.equal(got.items.length, 1);
  });

  test('two callbacks on one topic share one subscription; it ends with the last', async () => {
    const c = client();
    const topic = uniq('demo.shared');
    const a = collector();
    const b = collector();
    const offA = c.subscribe(topic, (d) => a(d));
    const offB = c.subscribe(topic, (d) => b(d));
    await Promise.all([offA.ready, offB.ready]);
    assert.deepEqual(await c.request('publish', { topic, data: 'x' }), { subscribers: 1 });
    await a.waitFor(1);
    await b.waitFor(1);
    await offA();
    assert.deepEqual(await c.request('publish', { topic, data: 'y' }), { subscribers: 1 });
    await b.waitFor(2);
    assert.deepEqual(a.items, ['x']);
    await offB();
    assert.deepEqual(await c.request('publish', { topic, data: 'z' }), { subscribers: 0 });
  });

  test('a history topic subscription reports the current seq and Inds carry seq', async () => {
    const c = client();
    const topic = uniq('history.seq');
    await c.request('publish', { topic, data: 'before' });
    const got = collector();
    const off = c.subscribe(topic, (data, ind) => got([ind.seq, data]));
    assert.deepEqual(await off.ready, { seq: 1 });
    await c.request('publish', { topic, data: 'after' });
    assert.deepEqual(await got.waitFor(1), [[2, 'after']]);
  });

  test('history: after a forced reconnect, Inds published meanwhile are replayed with no gap and no duplicate', async () => {
    const sub = client({ reconnect: { minDelay: 1000, maxDelay: 1000, jitter: 0 } });
    const pub = client();
    const topic = uniq('history.chat');
    const got = collector();
    const recoveries = collector();
    const off = sub.subscribe(topic, (data, ind) => got({ seq: ind.seq, data }), { onRecovery: recoveries });
    assert.deepEqual(await off.ready, { seq: 0 });
    for (let n = 1; n <= 3; n++) await pub.request('publish', { topic, data: n });
    await got.waitFor(3);

    const dropped = nextEvent(sub, 'state', (e) => e.state === 'reconnecting' && e.delay !== undefined);
    sub.socket.terminate();
    await dropped;
    // The client waits 1 s before reconnecting: these are published while it is away. (The number
    // of subscribers is not asserted: the server may learn of the dropped socket only later.)
    for (let n = 4; n <= 6; n++) await pub.request('publish', { topic, data: n });
    const recovered = await recoveries.waitFor(1, 10000);
    assert.deepEqual(recovered[0], { topic, history: true, since: 3, recovered: true, seq: recovered[0].seq, resumed: true });
    await pub.request('publish', { topic, data: 7 });
    await got.waitFor(7);
    await sub.request('echo', 'barrier');
    assert.deepEqual(got.items.map((i) => i.seq), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(got.items.map((i) => i.data), [1, 2, 3, 4, 5, 6, 7]);
  });

  test('history: a replay of Inds already seen (manual $subscribe since 0) is not delivered twice', async () => {
    const c = client();
    const topic = uniq('history.dup');
    const got = collector();
    const off = c.subscribe(topic, (data, ind) => got(ind.seq));
    await off.ready;
    for (let n = 1; n <= 3; n++) await c.request('publish', { topic, data: n });
    await got.waitFor(3);
    const replay = await c.request('$subscribe', { topic, since: 0 });
    assert.equal(replay.recovered, true);
    await c.request('publish', { topic, data: 4 });
    await got.waitFor(4);
    await c.request('echo', 'barrier');
    assert.deepEqual(got.items, [1, 2, 3, 4]);
  });

  test('history: subscribing with since beyond the kept history reports recovered:false', async () => {
    const c = client();
    const topic = uniq('history.long');
    const total = 1005;
    for (let start = 1; start <= total; start += 100) {
      const batch = [];
      for (let n = start; n < start + 100 && n <= total; n++) batch.push(c.request('publish', { topic, data: n }));
      await Promise.all(batch);
    }
    const reports = collector();
    const got = collector();
    const off = c.subscribe(topic, (data, ind) => got(ind.seq), { since: 1, onRecovery: reports });
    const res = await off.ready;
    assert.equal(res.recovered, false);
    assert.equal(res.seq, total);
    await reports.waitFor(1);
    assert.equal(reports.items[0].recovered, false);
    assert.equal(reports.items[0].since, 1);
    await c.request('publish', { topic, data: 'next' });
    await got.waitFor(1);
    assert.equal(got.items.at(-1), total + 1);
    assert.ok(got.items.every((s) => s > 1), 'nothing at or before since');
  });

  test('history: subscribing with since inside the kept history replays exactly the missed Inds', async () => {
    const c = client();
    const topic = uniq('history.since');
    for (let n = 1; n <= 5; n++) await c.request('publish', { topic, data: `m${n}` });
    const got = collector();
    const off = c.subscribe(topic, (data, ind) => got([ind.seq, data]), { since: 2 });
    assert.equal((await off.ready).recovered, true);
    await got.waitFor(3);
    await c.request('echo', 'barrier');
    assert.deepEqual(got.items, [[3, 'm3'], [4, 'm4'], [5, 'm5']]);
  });

  test('history: since beyond the current seq (the server restarted) resumes from the server\'s seq, not the stale one', async () => {
    const c = client();
    const topic = uniq('history.restarted');
    await c.request('publish', { topic, data: 'first' });
    const got = collector();
    const reports = collector();
    const off = c.subscribe(topic, (data, ind) => got([ind.seq, data]), { since: 50, onRecovery: reports });
    const res = await off.ready;
    assert.equal(res.recovered, false);
    assert.equal(res.seq, 1);
    assert.equal((await reports.waitFor(1))[0].recovered, false);
    await c.request('publish', { topic, data: 'second' });
    assert.deepEqual(await got.waitFor(1), [[2, 'second']]);
  });

  test('non-history topics are re-subscribed after a reconnect and report recovered:false', async () => {
    const c = client();
    const topic = uniq('demo.live');
    const got = collector();
    const off = c.subscribe(topic, (d) => got(d));
    await off.ready;
    const recovery = nextEvent(c, 'recovery', (r) => r.topic === topic);
    c.socket.terminate();
    const r = await recovery;
    assert.equal(r.history, false);
    assert.equal(r.recovered, false);
    // >= 1: the server may not have noticed the dropped socket yet.
    assert.ok((await c.request('publish', { topic, data: 'live again' })).subscribers >= 1);
    assert.deepEqual(await got.waitFor(1), ['live again']);
  });
});

describe('server-initiated requests (demo.ask)', () => {
  test('onRequest answers a Req sent by the gateway; its cfm data comes back through demo.ask', async () => {
    const c = client();
    const seen = [];
    c.onRequest('client.add', ({ a, b }, info) => { seen.push(info.op); return { sum: a + b }; });
    assert.deepEqual(await c.request('demo.ask', { op: 'client.add', data: { a: 2, b: 40 } }), { sum: 42 });
    assert.deepEqual(seen, ['client.add']);
  });

  test('a ConnMsgRejected thrown by the handler reaches the gateway as that rej', async () => {
    const c = client();
    c.onRequest('client.refuse', async () => { throw new ConnMsgRejected('forbidden', 'the client says no'); });
    await assert.rejects(c.request('demo.ask', { op: 'client.refuse', data: null }), (e) => e instanceof ConnMsgRejected && e.code === 'forbidden');
  });

  test('a Req for an op without a handler is answered unknown_op', async () => {
    const c = client();
    await assert.rejects(c.request('demo.ask', { op: 'client.nobody', data: 1 }), (e) => e instanceof ConnMsgRejected && e.code === 'unknown_op');
  });
});
