//! The TypeScript declarations wasm-bindgen cannot infer: options, the
//! response, the error class and the event map. Appended to the package's
//! `.d.ts`; `ApiClient`'s event methods are typed here by interface merging.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = concat!(r#"
/** Header names to values. */
export type HeaderMap = Record<string, string>;

/** Retry and timeout settings; per call in `PostOptions`, or as client defaults in `ClientConfig`. */
export interface RetrySettings {
  /** Retries after the first attempt. Default "#, default_text!(maxRetries), r#". */
  maxRetries?: number;
  /** Base backoff delay in ms, doubling with every retry. Default "#, default_text!(retryDelay), r#". */
  retryDelay?: number;
  /** Cap on any delay, also on a server's Retry-After, in ms. Default "#, default_text!(maxRetryDelay), r#". */
  maxRetryDelay?: number;
  /** Randomise each delay within its upper half. Default "#, default_text!(jitter), r#". */
  jitter?: boolean;
  /** Per-attempt timeout in ms, enforced with an AbortSignal. Default "#, default_text!(timeout), r#". */
  timeout?: number;
  /** Deadline for the whole call (attempts and waits) in ms. Default none. */
  totalTimeout?: number;
  /** Queue the request in IndexedDB when it cannot be delivered now. Default "#, default_text!(queueIfOffline), r#". */
  queueIfOffline?: boolean;
  /**
   * Commit a queueable write to the outbox before its first attempt, so it
   * survives its page dying mid-call (reload, crash, closed tab). Default
   * "#, default_text!(writeAhead), r#". Off saves one IndexedDB transaction per call, but a write on the
   * wire when its page dies is then in no queue.
   */
  writeAhead?: boolean;
}

/** Options of one call. */
export interface PostOptions extends RetrySettings {
  /** The operation's idempotency key, used as is on every attempt. Default: a fresh UUID v4. */
  idempotencyKey?: string;
  /** Calls with the same dedupeKey share one in-flight request. */
  dedupeKey?: string;
  /** Extra headers for this call. */
  headers?: HeaderMap;
  /** Aborts the call, including a pending backoff wait; an aborted call is never queued. */
  signal?: AbortSignal;
}

/** Client configuration for `new ApiClient(config)`. */
export interface ClientConfig extends RetrySettings {
  /** Base for relative URLs. Default: the page's location. */
  baseUrl?: string;
  /** Separate offline queue per tenant or user. Default "#, default_text!(namespace), r#". */
  namespace?: string;
  /** Headers for every request; a function is called before every attempt and replay. */
  headers?: HeaderMap | (() => HeaderMap | Promise<HeaderMap>);
  /** Header names allowed into the offline queue (Authorization and Cookie never are unless listed). */
  persistHeaders?: string[];
  /** How long a queued request may wait before it is dead-lettered, in ms. Default "#, default_text!(maxRetention), r#" (7 days). */
  maxRetention?: number;
  /**
   * A URL of the server that answers 2xx while it is up (absolute, or relative to baseUrl).
   * With it the client knows "unreachable" (the browser says online, the server does not
   * answer): it probes it when a request gets no response and on a backoff while the server
   * is silent, queues writes at once meanwhile, and drains when it answers. Default none.
   */
  healthUrl?: string;
  /** How long a health probe may take, in ms. Default "#, default_text!(probeTimeout), r#". */
  probeTimeout?: number;
  /**
   * When a write is queued, ask the origin's Service Worker registration for a Background
   * Sync with tag `pos-resilience:<namespace>`, so that a Service Worker drains the queue
   * even with no page open (see the README's "Service Worker" section). Ignored where the
   * browser has no Background Sync. Default "#, default_text!(backgroundSync), r#".
   */
  backgroundSync?: boolean;
}

/** What the client knows of its connection to the server. */
export type ConnectivityState = "online" | "offline" | "unreachable";

/** The `connectivity` getter's value. */
export interface Connectivity {
  state: ConnectivityState;
  /** The last answered health probe's round trip in ms, or null. */
  rtt: number | null;
}

/** The full outcome of `request`. */
export interface ApiResponse<T = unknown> {
  status: number;
  /** Response headers, names lowercased. */
  headers: HeaderMap;
  /** Parsed JSON, text when not JSON, null on 204. */
  body: T;
  /** True when the server replayed a stored response (Idempotent-Replayed). */
  replayed: boolean;
  /** The key sent on every attempt; null for GET/HEAD/OPTIONS. */
  idempotencyKey: string | null;
  /** Attempts made, 1 when the first succeeded. */
  attempts: number;
}

/** What went wrong. */
export type ApiErrorKind = "network" | "timeout" | "http" | "aborted" | "invalid-input" | "queued" | "storage";

/** The error every pos-resilience promise rejects with. */
export class ApiError extends Error {
  constructor(kind: ApiErrorKind, message: string, fields?: Partial<Pick<ApiError, "status" | "body" | "idempotencyKey" | "attempts" | "queueId" | "cause">>);
  readonly name: "ApiError";
  readonly kind: ApiErrorKind;
  /** HTTP status, for kind "http". */
  readonly status?: number;
  /** The response body (an RFC 9457 problem object where the server sent one). */
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  readonly attempts?: number;
  /** The queue record's id, for kind "queued". */
  readonly queueId?: number;
}

/** A request waiting in the offline queue (`listQueue()`). */
export interface QueuedRequest {
  /** Its place in the queue (IndexedDB auto-increment key). */
  id: number;
  /** Record schema version. */
  v: number;
  idempotencyKey: string;
  method: string;
  url: string;
  /** The JSON text of the body, or null. */
  body: string | null;
  /** Only the headers `persistHeaders` allows, plus Content-Type. */
  headers: HeaderMap;
  /** When the operation was first attempted (ms since the epoch). */
  createdAt: number;
  /** Sends so far, live attempts included. */
  attempts: number;
  /** Not replayed before this time except by a forced drain (ms since the epoch). */
  nextAttemptAt: number;
  lastError: string | null;
  /** The client whose live call is sending it right now (written ahead), or null once it waits for a drain. */
  owner: string | null;
}

/** Why a request was dead-lettered. */
export type DeadLetterReason = "rejected" | "expired" | "undecodable";

/** A request that can never be delivered as it is (`deadLetters()`). */
export interface DeadLetter {
  id: number;
  reason: DeadLetterReason;
  /** What happened, in words. */
  detail: string;
  /** When it was moved here (ms since the epoch). */
  deadAt: number;
  /** Its id in the queue. */
  queueId: number;
  idempotencyKey: string | null;
  /** The status that rejected it, for reason "rejected". */
  status?: number;
  /** The response body that rejected it (a problem object where the server sent one). */
  body?: unknown;
  /** The stored request as it was (a QueuedRequest, unless undecodable). */
  request: QueuedRequest | unknown;
}

/** What one drain did (`drainQueue()`, `drain-end`). */
export interface DrainReport {
  sent: number;
  deadLettered: number;
  /** Requests still queued. */
  remaining: number;
  /** True when another tab held the drain lock, so this drain sent nothing. */
  skipped: boolean;
  /** The storage failure that ended the drain, if any (`drain-end` only). */
  error?: string;
}

export interface ApiClient {
  addEventListener<K extends keyof ApiClientEventMap>(type: K, listener: (event: CustomEvent<ApiClientEventMap[K]>) => void, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ApiClientEventMap>(type: K, listener: (event: CustomEvent<ApiClientEventMap[K]>) => void, options?: boolean | EventListenerOptions): void;
}
"#);
