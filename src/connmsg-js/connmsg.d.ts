// Types of connmsg.js, the ConnMsg (`connmsg.v1`) client for browsers and Node >= 20.

export declare const SUBPROTOCOL: 'connmsg.v1';

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type ConnMsgState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Codes of errors raised by the client itself (a `ConnMsgRejected` carries the server's code). */
export type ConnMsgClientErrorCode =
  | 'connection_lost'
  | 'request_timeout'
  | 'message_too_large'
  | 'closed'
  | 'connect_timeout'
  | 'bad_message';

/** Base class of every error this module raises. */
export declare class ConnMsgError extends Error {
  constructor(code: string, message: string, options?: ErrorOptions);
  readonly code: ConnMsgClientErrorCode | string;
  /** Set on `message_too_large`: the message's size and the limit, in UTF-8 bytes. */
  size?: number;
  limit?: number;
}

/** The peer answered with `rej`. Also throw it from an `onRequest` handler to answer `rej`. */
export declare class ConnMsgRejected extends ConnMsgError {
  constructor(code: string, reason?: string, info?: { op?: string; id?: number | string });
  /** The server's reject code, e.g. `invalid_argument`, `forbidden`, `unknown_op`. */
  readonly code: string;
  /** Human-readable text; never needed by a program. `''` when the server sent none. */
  readonly reason: string;
  readonly op?: string;
  readonly id?: number | string;
}

export interface ReconnectOptions {
  /** First delay, ms. Default 500. */
  minDelay?: number;
  /** Largest delay, ms. Default 30000. */
  maxDelay?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** Fraction (0..1) of each delay taken off at random, so clients do not come back in step. Default 0.5. */
  jitter?: number;
  /** Attempts in a row before giving up (state `closed`). Default Infinity. */
  maxRetries?: number;
}

export interface ConnMsgOptions {
  /** WebSocket constructor. Default `globalThis.WebSocket`; in Node pass `WebSocket` from `ws`. */
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocketLike;
  /** Start connecting in the constructor. Default true; otherwise call `connect()`. */
  autoConnect?: boolean;
  /** Default timeout of `request`, ms (0 = none). Default 35000. */
  requestTimeout?: number;
  /** Give up on a connection attempt after this many ms. Default 10000. */
  connectTimeout?: number;
  /** Send `$ping` this often while open, ms (0 = never). Default 15000. */
  pingInterval?: number;
  /** No answer to `$ping` within this many ms: the connection is dead; reconnect. Default 10000. */
  pingTimeout?: number;
  /** A connection that stays open this long (ms) resets the reconnect backoff to `minDelay`. Default 5000. */
  stableAfter?: number;
  /** Backoff settings, or `false` to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /**
   * How many times a `$subscribe` resent after a reconnect and refused `overloaded` is sent again on the same
   * connection (after the reconnect backoff, growing per refusal) before the subscription is given up: it then ends
   * with an `error` event carrying that `ConnMsgRejected` and the topic, as after any other refusal. Counted per
   * connection. Default 10 (as the .NET client's `ResubscribeMaxRetries`); 0 gives up at the first refusal, Infinity
   * never does. Anything else throws `TypeError`.
   */
  resubscribeMaxRetries?: number;
}

/** The part of the WebSocket API the client uses. */
export interface WebSocketLike {
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onerror: ((ev: any) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
}

export interface RequestOptions {
  /** ms; overrides `requestTimeout`. On expiry the promise rejects with `request_timeout`. */
  timeout?: number;
  /** Aborting rejects the promise with `signal.reason`; a late answer is discarded. */
  signal?: AbortSignal;
}

/** A server `$session` Ind (PROTOCOL.md 5.1). */
export interface SessionInfo {
  id: string;
  keepAlive: number;
  maxMessage: number;
  maxInFlight: number;
  [key: string]: Json;
}

export interface Ind<T = any> {
  topic: string;
  /** Set on topics that keep history. */
  seq?: number;
  data: T;
}

/** How resuming a subscription with `since` went. */
export interface RecoveryInfo {
  topic: string;
  /** False for topics without history: Inds published while disconnected are lost. */
  history: boolean;
  /** The `since` sent, or null. */
  since: number | null;
  /** True when every missed Ind was replayed (no gap). False: resynchronise by your own means. */
  recovered: boolean;
  /** The topic's current seq as the server reported it (history topics). */
  seq: number | null;
  /** True after a reconnect, false for a first subscription made with `since`. */
  resumed: boolean;
}

/** `$subscribe` Cfm data: `{seq}` without since, `{recovered:true}` or `{recovered:false, seq}` with it. */
export interface SubscribeResult {
  seq?: number;
  recovered?: boolean;
  [key: string]: Json | undefined;
}

export interface SubscribeOptions {
  /** Replay Inds with seq > since first (history topics). Used by the first subscriber of a topic. */
  since?: number;
  onRecovery?: (info: RecoveryInfo) => void;
}

export interface Unsubscribe {
  /** Removes the callback; the last one of a topic sends `$unsubscribe`. */
  (): Promise<void>;
  /** Resolves with the `$subscribe` Cfm data once live; null if unsubscribed before. */
  readonly ready: Promise<SubscribeResult | null>;
}

export interface StateEvent {
  state: ConnMsgState;
  previous: ConnMsgState;
  /** Reconnect attempt number (reconnecting). */
  attempt?: number;
  /** ms until the next attempt (reconnecting, while waiting). */
  delay?: number;
  /** Close code and reason of the connection that ended. */
  code?: number;
  reason?: string;
}

export interface ConnMsgEvents {
  state: StateEvent;
  session: SessionInfo;
  recovery: RecoveryInfo;
  /** Every Ind received, subscribed or not (before the seq filter: subscribed callbacks see no duplicate). */
  ind: { topic: string; seq?: number; data: Json };
  /** Answer of a `$ping`. */
  ping: { rtt: number };
  /** A late answer to a request that had timed out or been aborted, discarded. */
  late: { id: number | string; type: 'cfm' | 'rej'; data?: Json; code?: string };
  /** Something went wrong that no promise reports: a bad message, a throwing callback, a refused subscription. */
  error: { error: unknown; topic?: string; op?: string };
}

export type RequestHandler = (data: any, info: { id: number | string; op: string }) => unknown;

export declare class ConnMsgClient {
  constructor(url: string, options?: ConnMsgOptions);
  readonly state: ConnMsgState;
  readonly url: string;
  readonly session: SessionInfo | null;
  /** Largest message this client sends, in UTF-8 bytes (from `$session`, else 65536). */
  readonly maxMessage: number;
  /** Round-trip time of the last `$ping`, ms. */
  readonly rtt: number | null;
  /** The current WebSocket, for diagnostics and tests. */
  readonly socket: WebSocketLike | null;

  connect(): Promise<void>;
  whenOpen(options?: { timeout?: number }): Promise<void>;
  on<K extends keyof ConnMsgEvents>(type: K, listener: (event: ConnMsgEvents[K]) => void): () => void;
  request<T = any>(op: string, data?: unknown, options?: RequestOptions): Promise<T>;
  subscribe<T = any>(topic: string, callback: (data: T, ind: Ind<T>) => void, options?: SubscribeOptions): Unsubscribe;
  onRequest(op: string, handler: RequestHandler): () => void;
  close(code?: number, reason?: string): void;
}

export declare function connect(url: string, options?: ConnMsgOptions): ConnMsgClient;
