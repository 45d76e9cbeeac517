//! The TypeScript declarations wasm-bindgen cannot infer: options, the
//! response, the error class and the event map. Appended to the package's
//! `.d.ts`; `ApiClient`'s event methods are typed here by interface merging.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Header names to values. */
export type HeaderMap = Record<string, string>;

/** Retry and timeout settings; per call in `PostOptions`, or as client defaults in `ClientConfig`. */
export interface RetrySettings {
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number;
  /** Base backoff delay in ms: 1 s, 2 s, 4 s, … Default 1000. */
  retryDelay?: number;
  /** Cap on any delay, also on a server's Retry-After, in ms. Default 30000. */
  maxRetryDelay?: number;
  /** Randomise each delay within its upper half. Default true. */
  jitter?: boolean;
  /** Per-attempt timeout in ms, enforced with an AbortSignal. Default 60000. */
  timeout?: number;
  /** Deadline for the whole call (attempts and waits) in ms. Default none. */
  totalTimeout?: number;
  /** Queue the request in IndexedDB when it cannot be delivered now. Default true. */
  queueIfOffline?: boolean;
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
  /** Separate offline queue per tenant or user. Default "default". */
  namespace?: string;
  /** Headers for every request; a function is called before every attempt and replay. */
  headers?: HeaderMap | (() => HeaderMap | Promise<HeaderMap>);
  /** Header names allowed into the offline queue (Authorization and Cookie never are unless listed). */
  persistHeaders?: string[];
  /** How long a queued request may wait before it is dead-lettered, in ms. Default 7 days. */
  maxRetention?: number;
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

/** `detail` of the `retry` event. */
export interface RetryEventDetail {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** Wait before the next attempt, in ms. */
  delay: number;
  /** "timeout", "network: …" or "status N". */
  reason: string;
  status?: number;
  url: string;
  idempotencyKey: string | null;
}

/** Event names and the type of their `detail`. */
export interface ApiClientEventMap {
  retry: RetryEventDetail;
  online: null;
  offline: null;
}

export interface ApiClient {
  addEventListener<K extends keyof ApiClientEventMap>(type: K, listener: (event: CustomEvent<ApiClientEventMap[K]>) => void, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ApiClientEventMap>(type: K, listener: (event: CustomEvent<ApiClientEventMap[K]>) => void, options?: boolean | EventListenerOptions): void;
}
"#;
