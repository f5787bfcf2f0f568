// Small helpers: wait for an event or a condition with a deadline instead of sleeping.

/** Resolves with the first event of `client.on(type)` that satisfies `pred`; rejects after `ms`. */
export function nextEvent(client, type, pred = () => true, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no '${type}' event within ${ms} ms`)); }, ms);
    const off = client.on(type, (ev) => {
      if (!pred(ev)) return;
      clearTimeout(timer);
      off();
      resolve(ev);
    });
  });
}

/** A promise plus its resolvers. */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Races `promise` against a timeout that rejects with `what`. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Collects callback values; `waitFor(n)` resolves once `n` have arrived. */
export function collector() {
  const items = [];
  const waiters = [];
  const push = (...args) => {
    items.push(args.length === 1 ? args[0] : args);
    for (const w of [...waiters]) if (items.length >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(items); }
  };
  push.items = items;
  push.waitFor = (n, ms = 10000) => {
    if (items.length >= n) return Promise.resolve(items);
    return within(new Promise((resolve) => waiters.push({ n, resolve })), ms, `${n} items (have ${items.length})`);
  };
  return push;
}

export const uniq = (prefix) => `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
