// connmsg.js against a small stand-in server (Node `ws`), for behaviour the demo gateway cannot
// provoke on demand: server-initiated requests, a peer that stops answering $ping, refused
// handshakes (backoff), duplicated Inds, a small maxMessage.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer, WebSocket } from 'ws';
import { ConnMsgClient, ConnMsgRejected, ConnMsgError } from '../../src/connmsg-js/connmsg.js';
import { nextEvent, deferred, within, collector } from './lib/util.mjs';

/** A programmable connmsg.v1 peer. `onReq(msg, sock)` answers requests; default: echo / $ping. */
function standin({ session = { id: 's1', keepAlive: 15, maxMessage: 65536, maxInFlight: 256 }, refuse = () => false, hangUp = () => false, onReq } = {}) {
  const sockets = new Set();
  const connections = [];
  let handshakes = 0;
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (protocols) => (protocols.has('connmsg.v1') ? 'connmsg.v1' : false),
    verifyClient: (_info, cb) => { handshakes++; if (refuse(handshakes)) cb(false, 503); else cb(true); },
  });
  const ready = new Promise((r) => wss.on('listening', r));
  wss.on('connection', (sock) => {
    sockets.add(sock);
    connections.push(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.send(JSON.stringify({ type: 'ind', topic: '$session', data: session }));
    if (hangUp(connections.length)) { sock.close(1008, 'go away'); return; }
    sock.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      sock.emit('connmsg', msg);
      if (msg.type !== 'req') return;
      if (onReq && onReq(msg, sock) !== false) return;
      sock.send(JSON.stringify({ type: 'cfm', id: msg.id, data: msg.data ?? null }));
    });
  });
  return {
    wss,
    ready,
    connections,
    get handshakes() { return handshakes; },
    get url() { return `ws://127.0.0.1:${wss.address().port}/ws`; },
    close: () => new Promise((r) => { for (const s of sockets) s.terminate(); wss.close(() => r()); }),
  };
}

/** Next message the stand-in receives on `sock` that satisfies `pred`. */
function received(sock, pred, ms = 5000) {
  return within(new Promise((resolve) => {
    const on = (msg) => { if (pred(msg)) { sock.off('connmsg', on); resolve(msg); } };
    sock.on('connmsg', on);
  }), ms, 'message at the stand-in');
}

/** Sends a server-initiated Req on `sock` and resolves with the client's answer to it. */
function ask(sock, id, op, data) {
  const answer = received(sock, (m) => m.type !== 'req' && m.id === id);
  sock.send(JSON.stringify({ type: 'req', id, op, data }));
  return answer;
}

/**
 * An `onReq` that keeps each socket's subscriptions as a gateway does and sends a `publish` to the sockets subscribed
 * to its topic; `srv()` gives the stand-in it serves. `holdSubscribe(sock)` true leaves a `$subscribe` unanswered.
 */
function pubsub(srv, { holdSubscribe = () => false } = {}) {
  const subscribed = new WeakMap(); // socket -> topics it subscribed
  const topics = (sock) => { if (!subscribed.has(sock)) subscribed.set(sock, new Set()); return subscribed.get(sock); };
  return (msg, sock) => {
    if (msg.op === '$subscribe' || msg.op === '$unsubscribe') {
      if (msg.op === '$subscribe') topics(sock).add(msg.data.topic);
      else topics(sock).delete(msg.data.topic);
      if (msg.op === '$unsubscribe' || !holdSubscribe(sock)) sock.send(JSON.stringify({ type: 'cfm', id: msg.id }));
      return true;
    }
    if (msg.op === 'publish') {
      const to = [...srv().wss.clients].filter((s) => subscribed.get(s)?.has(msg.data.topic));
      for (const s of to) s.send(JSON.stringify({ type: 'ind', topic: msg.data.topic, data: msg.data.data }));
      sock.send(JSON.stringify({ type: 'cfm', id: msg.id, data: { subscribers: to.length } }));
      return true;
    }
    return false;
  };
}

/** The ops of the requests that the stand-in's next connection receives, in order, as they arrive. */
function opsOnNextConnection(srv) {
  const ops = [];
  srv.wss.once('connection', (sock) => sock.on('connmsg', (m) => { if (m.type === 'req') ops.push(m.op); }));
  return ops;
}

const opts = (extra = {}) => ({ WebSocket, pingInterval: 0, reconnect: { minDelay: 20, maxDelay: 200 }, ...extra });

describe('connmsg.js against a stand-in peer', () => {
  test('onRequest answers server-initiated requests with cfm, the thrown rej, unknown_op and internal', async () => {
    const srv = standin();
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      const errors = collector();
      client.on('error', errors);
      client.onRequest('calc.add', async ({ a, b }) => a + b);
      client.onRequest('calc.div', ({ a, b }) => {
        if (b === 0) throw new ConnMsgRejected('invalid_argument', 'division by zero');
        return a / b;
      });
      client.onRequest('calc.crash', () => { throw new Error('secret internals'); });
      await client.whenOpen({ timeout: 5000 });
      const sock = srv.connections[0];
      assert.deepEqual(await ask(sock, 1, 'calc.add', { a: 2, b: 3 }), { type: 'cfm', id: 1, data: 5 });
      assert.deepEqual(await ask(sock, 'x-2', 'calc.div', { a: 1, b: 0 }), { type: 'rej', id: 'x-2', code: 'invalid_argument', reason: 'division by zero' });
      const unknown = await ask(sock, 3, 'calc.nope', null);
      assert.equal(unknown.type, 'rej');
      assert.equal(unknown.code, 'unknown_op');
      const crash = await ask(sock, 4, 'calc.crash', null);
      assert.equal(crash.code, 'internal');
      assert.doesNotMatch(crash.reason, /secret/, 'the reason must not leak the handler\'s error');
      assert.equal(errors.items.length, 1, 'the handler failure is reported locally');
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('a handler\'s reject code that is not snake_case is answered internal, since the server would refuse it', async () => {
    const srv = standin();
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      const errors = collector();
      client.on('error', errors);
      client.onRequest('calc.guard', () => { throw new ConnMsgRejected('NotAllowed', 'no'); });
      await client.whenOpen({ timeout: 5000 });
      assert.equal((await ask(srv.connections[0], 7, 'calc.guard')).code, 'internal');
      assert.equal(errors.items.length, 1, 'the bad code is reported locally');
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('a $ping from the server is answered with its data, as PROTOCOL 5.4 holds both ways', async () => {
    const srv = standin();
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      await client.whenOpen({ timeout: 5000 });
      assert.deepEqual(await ask(srv.connections[0], 'p1', '$ping', { t: 42 }), { type: 'cfm', id: 'p1', data: { t: 42 } });
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('after a $subscribe timed out, the next subscribe() of the topic asks again instead of waiting for a reconnect', async () => {
    let subscribes = 0;
    const srv = standin({
      onReq: (msg, sock) => {
        if (msg.op !== '$subscribe') return false;
        if (++subscribes > 1) sock.send(JSON.stringify({ type: 'cfm', id: msg.id })); // the first is never answered
        return true;
      },
    });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts({ requestTimeout: 200 }));
    try {
      await client.whenOpen({ timeout: 5000 });
      const first = client.subscribe('slow.topic', () => {});
      await assert.rejects(first.ready, (e) => e.code === 'request_timeout');
      const second = client.subscribe('slow.topic', () => {});
      await within(second.ready, 5000, 'the second subscribe');
      assert.equal(subscribes, 2);
    } finally {
      client.close();
      await srv.close();
    }
  });

  // A resumed $subscribe refused for a passing reason (PROTOCOL 4: overloaded means retry later; shutting_down means
  // this server is draining) must not end a subscription the application still holds.
  for (const { code, closeAfter } of [{ code: 'overloaded', closeAfter: false }, { code: 'shutting_down', closeAfter: true }]) {
    test(`a resumed $subscribe refused ${code} is sent again and the subscription lives on`, async () => {
      let refused = false;
      const srv = standin({
        onReq: (msg, sock) => {
          if (msg.op !== '$subscribe') return false;
          if (srv.connections.length === 2 && !refused) {
            refused = true;
            sock.send(JSON.stringify({ type: 'rej', id: msg.id, code, reason: 'try later' }));
            if (closeAfter) sock.close(1001, 'shutting down'); // what a draining server does once drained
            return true;
          }
          sock.send(JSON.stringify({ type: 'cfm', id: msg.id }));
          return true;
        },
      });
      await srv.ready;
      const client = new ConnMsgClient(srv.url, opts());
      try {
        const got = collector();
        const errors = collector();
        client.on('error', errors);
        const unsub = client.subscribe('plain.t', (data) => got(data));
        await within(unsub.ready, 5000, 'the first subscribe');
        srv.connections[0].terminate();

        // Live again means a $subscribe the server confirmed, on a connection after the refusal.
        const confirmedAfterRefusal = within(new Promise((resolve) => {
          const watch = (sock) => sock.on('connmsg', (m) => { if (m.op === '$subscribe' && refused) resolve(sock); });
          srv.wss.on('connection', watch);
        }), 5000, 'a $subscribe after the refusal');
        const sock = await confirmedAfterRefusal;
        await nextEvent(client, 'recovery', (ev) => ev.topic === 'plain.t', 5000);
        sock.send(JSON.stringify({ type: 'ind', topic: 'plain.t', data: 'after' }));
        assert.deepEqual(await got.waitFor(1, 5000), ['after']);
        assert.equal(errors.items.length, 0, 'a passing refusal is not reported as the end of the subscription');
      } finally {
        client.close();
        await srv.close();
      }
    });
  }

  // overloaded says "retry later", but a server that stays overloaded through every retry may stay so: the application
  // must learn that its subscription is gone rather than wait for Inds that never come (the .NET client's
  // ResubscribeMaxRetries and RecoveryFailed).
  test('a resumed $subscribe refused overloaded every time is given up after resubscribeMaxRetries with an error event', async () => {
    const retries = 2;
    let refusals = 0;
    const beyondBound = deferred();
    const srv = standin({
      onReq: (msg, sock) => {
        if (msg.op === 'probe.marker') {
          // Before the marker's answer: a subscription still held would hand it to the callback.
          sock.send(JSON.stringify({ type: 'ind', topic: 'busy.t', data: 'after' }));
          return false;
        }
        if (msg.op !== '$subscribe') return false;
        if (srv.connections.indexOf(sock) === 0) {
          sock.send(JSON.stringify({ type: 'cfm', id: msg.id }));
          return true;
        }
        if (++refusals > 1 + retries) beyondBound.resolve();
        sock.send(JSON.stringify({ type: 'rej', id: msg.id, code: 'overloaded', reason: 'try later' }));
        return true;
      },
    });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts({ resubscribeMaxRetries: retries }));
    try {
      const got = collector();
      const unsub = client.subscribe('busy.t', (data) => got(data));
      await within(unsub.ready, 5000, 'the first subscribe');
      const reported = nextEvent(client, 'error', (ev) => ev.topic === 'busy.t', 10000);
      srv.connections[0].terminate();

      const first = await Promise.race([reported.then(() => 'reported'), beyondBound.promise.then(() => 'beyond')]);
      if (first === 'beyond') {
        assert.fail(`$subscribe number ${retries + 2} went out: a resumed $subscribe refused overloaded is retried beyond resubscribeMaxRetries (${retries}) and the application is never told`);
      }
      const { error } = await reported;
      assert.ok(error instanceof ConnMsgRejected, `reported ${error}`);
      assert.equal(error.code, 'overloaded');
      await client.request('probe.marker');
      assert.equal(refusals, 1 + retries, 'the first re-subscription and its retries, no more');
      assert.deepEqual(got.items, [], 'the subscription given up is over, as after any other refusal');
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('resubscribeMaxRetries counts the refusals on one connection: the next connection starts over', async () => {
    const retries = 2;
    const errors = [];
    const srv = standin({
      onReq: (msg, sock) => {
        if (msg.op !== '$subscribe') return false;
        const connection = srv.connections.indexOf(sock);
        const nth = (sock.subscribes = (sock.subscribes ?? 0) + 1);
        if (connection === 0 || (connection === 2 && nth > retries)) {
          sock.send(JSON.stringify({ type: 'cfm', id: msg.id }));
          if (connection === 2) sock.send(JSON.stringify({ type: 'ind', topic: 'busy.t', data: 'live' }));
        } else if (connection === 1 && nth === 2) {
          sock.terminate(); // one refusal and one retry on this connection, then it is lost
        } else {
          sock.send(JSON.stringify({ type: 'rej', id: msg.id, code: 'overloaded', reason: 'try later' }));
        }
        return true;
      },
    });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts({ resubscribeMaxRetries: retries }));
    try {
      client.on('error', (ev) => errors.push(ev.error));
      const got = collector();
      const unsub = client.subscribe('busy.t', (data) => got(data));
      await within(unsub.ready, 5000, 'the first subscribe');
      srv.connections[0].terminate();

      // The third connection refuses as often as the bound allows, then confirms: the refusal on the second must not
      // count against it.
      assert.deepEqual(await got.waitFor(1, 5000).catch((e) => assert.fail(`${e.message}; errors: ${errors.join('; ')}`)), ['live']);
      assert.equal(srv.connections.length, 3);
      assert.deepEqual(errors, []);
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('resubscribeMaxRetries must be an integer >= 0 or Infinity', () => {
    for (const bad of [-1, 1.5, '3', null]) {
      assert.throws(() => new ConnMsgClient('ws://127.0.0.1:1/ws', { WebSocket, autoConnect: false, resubscribeMaxRetries: bad }), TypeError, String(bad));
    }
    for (const good of [0, 10, Infinity]) {
      new ConnMsgClient('ws://127.0.0.1:1/ws', { WebSocket, autoConnect: false, resubscribeMaxRetries: good }).close();
    }
  });

  // A publish the application makes while disconnected, after subscribing, must not reach the server before the
  // client's own resubscription: a topic without history would deliver its Ind to everyone but this client.
  test('after a reconnect the $subscribe of every topic reaches the server before the requests that waited', async () => {
    const srv = standin({ onReq: pubsub(() => srv) });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      const got = collector();
      const unsub = client.subscribe('plain.t', (data) => got(data));
      await within(unsub.ready, 5000, 'the first subscribe');

      const order = opsOnNextConnection(srv);
      const down = nextEvent(client, 'state', (e) => e.state === 'reconnecting' && e.delay !== undefined, 5000);
      srv.connections[0].terminate();
      await down;
      assert.notEqual(client.state, 'open');
      const first = client.request('echo', 1);
      const published = client.request('publish', { topic: 'plain.t', data: 'while away' });
      const second = client.request('echo', 2);

      assert.deepEqual(await within(published, 5000, 'the publish'), { subscribers: 1 }, `order at the server: ${order.join(', ')}`);
      assert.deepEqual([await first, await second], [1, 2]);
      assert.deepEqual(order, ['$subscribe', 'echo', 'publish', 'echo'], 'resubscription first, then the waiting requests in the order made');
      assert.deepEqual(await got.waitFor(1, 5000), ['while away']);
    } finally {
      client.close();
      await srv.close();
    }
  });

  // The order above has one exception: a topic whose $unsubscribe still waits for the connection. Its $subscribe
  // must follow that $unsubscribe's answer, or the server would end the subscription just made.
  test('after a reconnect a $subscribe waits for the answer to an $unsubscribe of its topic that waited too', async () => {
    // The first connection's $subscribe is never answered.
    const srv = standin({ onReq: pubsub(() => srv, { holdSubscribe: () => srv.connections.length === 1 }) });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      await client.whenOpen({ timeout: 5000 });
      // An unsubscribe queued behind a $subscribe still unanswered when the connection drops: its $unsubscribe is
      // then made while reconnecting and waits for the next connection.
      const firstSub = received(srv.connections[0], (m) => m.op === '$subscribe');
      const unsubFirst = client.subscribe('plain.t', () => {});
      await firstSub;
      unsubFirst();

      const order = opsOnNextConnection(srv);
      const down = nextEvent(client, 'state', (e) => e.state === 'reconnecting' && e.delay !== undefined, 5000);
      srv.connections[0].terminate();
      await down;
      const got = collector();
      const again = client.subscribe('plain.t', (data) => got(data));
      await within(again.ready, 5000, 'the subscribe made while reconnecting');

      assert.ok(order.indexOf('$unsubscribe') >= 0 && order.indexOf('$unsubscribe') < order.indexOf('$subscribe'), `order at the server: ${order.join(', ')}`);
      assert.deepEqual(await client.request('publish', { topic: 'plain.t', data: 'live' }), { subscribers: 1 });
      assert.deepEqual(await got.waitFor(1, 5000), ['live']);
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('a $subscribe made while open reaches the server before a request made right after it', async () => {
    const srv = standin();
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      await client.whenOpen({ timeout: 5000 });
      const order = [];
      srv.connections[0].on('connmsg', (m) => { if (m.type === 'req') order.push(m.op); });
      const unsub = client.subscribe('plain.t', () => {});
      await client.request('echo', 1);
      await within(unsub.ready, 5000, 'the subscribe');
      assert.deepEqual(order, ['$subscribe', 'echo']);
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('close() called from a state listener while reconnecting stops the reconnect', async () => {
    const srv = standin();
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      await client.whenOpen({ timeout: 5000 });
      client.on('state', (e) => { if (e.state === 'reconnecting' && e.delay === undefined) client.close(); });
      const closed = nextEvent(client, 'state', (e) => e.state === 'closed', 5000);
      srv.connections[0].terminate();
      await closed;
      // No second connection reaches the stand-in, and the client stays closed.
      await assert.rejects(within(new Promise((r) => srv.wss.once('connection', r)), 500, 'a second connection'));
      assert.equal(srv.connections.length, 1);
      assert.equal(client.state, 'closed');
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('a topic without history subscribed with since reports that nothing could be recovered', async () => {
    // The server's cfm of a topic that keeps no history carries no data: no `recovered`, no `seq`.
    const srv = standin({ onReq: (msg, sock) => (msg.op === '$subscribe' ? sock.send(JSON.stringify({ type: 'cfm', id: msg.id })) : false) });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      const reports = collector();
      const off = client.subscribe('plain.topic', () => {}, { since: 0, onRecovery: reports });
      await off.ready;
      const [report] = await reports.waitFor(1);
      assert.equal(report.history, false);
      assert.equal(report.recovered, false);
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('a peer that stops answering $ping is dropped and the client reconnects', async () => {
    let silent = true;
    const srv = standin({ onReq: (msg) => (msg.op === '$ping' && silent ? undefined : false) });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts({ pingInterval: 100, pingTimeout: 200 }));
    try {
      await client.whenOpen({ timeout: 5000 });
      const dropped = await nextEvent(client, 'state', (e) => e.state === 'reconnecting' && e.delay !== undefined, 5000);
      assert.match(dropped.reason, /\$ping/);
      silent = false;
      await nextEvent(client, 'state', (e) => e.state === 'open', 5000);
      assert.equal(srv.connections.length, 2);
      const ping = await nextEvent(client, 'ping', () => true, 5000);
      assert.ok(ping.rtt >= 0 && ping.rtt < 5000);
      assert.equal(client.rtt, ping.rtt);
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('reconnect delays grow exponentially with jitter and stay under maxDelay', async () => {
    const srv = standin({ refuse: (n) => n <= 6 });
    await srv.ready;
    const delays = [];
    const client = new ConnMsgClient(srv.url, opts({ autoConnect: false, reconnect: { minDelay: 40, maxDelay: 300, factor: 2, jitter: 0.5 } }));
    client.on('state', (e) => { if (e.state === 'reconnecting' && e.delay !== undefined) delays.push(e.delay); });
    try {
      await client.connect();
      assert.equal(srv.handshakes, 7);
      assert.equal(delays.length, 6);
      delays.forEach((d, i) => {
        const base = Math.min(300, 40 * 2 ** i);
        assert.ok(d >= base * 0.5 - 1 && d <= base, `delay ${i} = ${d}, expected within [${base / 2}, ${base}]`);
      });
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('a server that accepts and at once closes does not reset the backoff', async () => {
    const srv = standin({ hangUp: (n) => n <= 4 });
    await srv.ready;
    const delays = [];
    const client = new ConnMsgClient(srv.url, opts({ reconnect: { minDelay: 40, maxDelay: 1000, factor: 2, jitter: 0.5 } }));
    client.on('state', (e) => { if (e.state === 'reconnecting' && e.delay !== undefined) delays.push(e.delay); });
    try {
      // Four short-lived connections, then one that lasts.
      await nextEvent(client, 'state', (e) => e.state === 'open' && srv.connections.length === 5, 10000);
      assert.equal(delays.length, 4);
      delays.forEach((d, i) => {
        const base = 40 * 2 ** i;
        assert.ok(d >= base * 0.5 - 1 && d <= base, `delay ${i} = ${d}, expected within [${base / 2}, ${base}]`);
      });
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('after maxRetries the client closes and rejects waiting requests with "closed"', async () => {
    const srv = standin({ refuse: () => true });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts({ reconnect: { minDelay: 10, maxDelay: 20, maxRetries: 2 } }));
    try {
      const pending = client.request('echo', 1, { timeout: 0 });
      const closed = nextEvent(client, 'state', (e) => e.state === 'closed', 5000);
      await assert.rejects(pending, (e) => e instanceof ConnMsgError && e.code === 'closed');
      await closed;
      assert.equal(srv.handshakes, 3, 'first attempt + 2 retries');
      await assert.rejects(client.request('echo', 1), (e) => e.code === 'closed');
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('Inds already delivered (seq <= last seen) are dropped', async () => {
    const srv = standin({
      onReq: (msg, sock) => {
        if (msg.op !== '$subscribe') return false;
        const ind = (seq) => JSON.stringify({ type: 'ind', topic: 'history.t', seq, data: { n: seq } });
        sock.send(JSON.stringify({ type: 'cfm', id: msg.id, data: { seq: 0 } }));
        for (const seq of [1, 2, 2, 3, 1, 3, 4]) sock.send(ind(seq));
      },
    });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      const got = collector();
      const unsub = client.subscribe('history.t', (data, ind) => got(ind.seq));
      assert.deepEqual(await unsub.ready, { seq: 0 });
      await got.waitFor(4);
      // One more message after the last one proves nothing else was delivered before it.
      await client.request('echo', 'barrier');
      assert.deepEqual(got.items, [1, 2, 3, 4]);
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('requests made while connecting are sent once open, in order', async () => {
    const srv = standin();
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      assert.equal(client.state, 'connecting');
      const answers = await Promise.all([1, 2, 3].map((n) => client.request('echo', n)));
      assert.deepEqual(answers, [1, 2, 3]);
    } finally {
      client.close();
      await srv.close();
    }
  });

  test('maxMessage from $session is enforced in UTF-8 bytes before sending', async () => {
    const srv = standin({ session: { id: 's', keepAlive: 15, maxMessage: 100, maxInFlight: 8 } });
    await srv.ready;
    const client = new ConnMsgClient(srv.url, opts());
    try {
      await nextEvent(client, 'session', () => true, 5000);
      assert.equal(client.maxMessage, 100);
      // {"type":"req","id":N,"op":"echo","data":"…"} is 38 bytes + data.
      assert.equal(await client.request('echo', 'a'.repeat(50)), 'a'.repeat(50));
      await assert.rejects(client.request('echo', 'é'.repeat(40)), (e) => e.code === 'message_too_large' && e.size > 100 && e.limit === 100);
      assert.equal(client.state, 'open');
    } finally {
      client.close();
      await srv.close();
    }
  });
});
