// Starts the real ConnMsg gateway on a free port for one test file, and stops it afterwards.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const gatewayDll = process.env.CONNMSG_GATEWAY_DLL
  ? path.resolve(process.env.CONNMSG_GATEWAY_DLL)
  : path.join(repoRoot, 'src', 'ConnMsg.Gateway', 'bin', 'Debug', 'net10.0', 'ConnMsg.Gateway.dll');

/** Where the gateway runs, as `dotnet run` would: its project folder (content root). */
const gatewayCwd = process.env.CONNMSG_GATEWAY_CWD
  ? path.resolve(process.env.CONNMSG_GATEWAY_CWD)
  : path.join(repoRoot, 'src', 'ConnMsg.Gateway');

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the gateway and resolves once `GET /healthz` answers 200.
 * Returns `{ port, http, ws, stop(), output(), kill(signal), exit }` (`exit` resolves with `{code, signal}`). Env: CONNMSG_GATEWAY_DLL (the gateway to start),
 * CONNMSG_GATEWAY_CWD (its working folder), CONNMSG_GATEWAY_URL (use a running gateway instead).
 */
export async function startGateway({ deadlineMs = 60000, args = [] } = {}) {
  if (process.env.CONNMSG_GATEWAY_URL) {
    // An already running gateway (e.g. under a debugger): use it, do not start or stop anything.
    const http = process.env.CONNMSG_GATEWAY_URL.replace(/\/+$/, '');
    const u = new URL(http);
    return { port: Number(u.port), http, ws: `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/ws`, stop: async () => null, output: () => '', external: true };
  }
  if (!existsSync(gatewayDll)) {
    throw new Error(`gateway not built: ${gatewayDll} does not exist (run \`dotnet build src/ConnMsg.Gateway\` in ${repoRoot}, or set CONNMSG_GATEWAY_DLL)`);
  }
  const port = await freePort();
  const http = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn('dotnet', [gatewayDll, '--urls', http, ...args], {
    cwd: existsSync(gatewayCwd) ? gatewayCwd : path.dirname(gatewayDll),
    env: { ...process.env, DOTNET_NOLOGO: '1', ASPNETCORE_ENVIRONMENT: process.env.ASPNETCORE_ENVIRONMENT ?? 'Development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk) => { log += chunk; if (log.length > 200000) log = log.slice(-100000); };
  child.stdout.setEncoding('utf8').on('data', append);
  child.stderr.setEncoding('utf8').on('data', append);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));

  const stop = async () => {
    if (exited) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    const r = await exit;
    clearTimeout(timer);
    return r;
  };

  // Poll /healthz until it answers 200, the process dies, or the deadline passes.
  const deadline = Date.now() + deadlineMs;
  let last = 'no answer yet';
  while (true) {
    if (exited) throw new Error(`gateway exited (${JSON.stringify(exited)}) before /healthz answered:\n${log}`);
    try {
      const res = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(2000) });
      last = `status ${res.status}`;
      await res.text();
      if (res.status === 200) break;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`gateway did not answer GET /healthz with 200 within ${deadlineMs} ms (last: ${last}):\n${log}`);
    }
    await delay(100); // poll interval of a bounded readiness wait, not a synchronisation sleep
  }
  return { port, http, ws: `ws://127.0.0.1:${port}/ws`, stop, output: () => log, kill: (sig) => child.kill(sig), exit };
}
