// Small JavaScript helpers the wasm module imports (wasm-bindgen copies this
// file into the package's `snippets/`). Kept tiny: anything with policy in it
// lives in Rust.

/**
 * The error every pos-resilience promise rejects with. A real `Error`
 * subclass so `instanceof Error` and stack traces work; `kind` says what
 * went wrong (network | timeout | http | aborted | invalid-input | queued |
 * storage).
 */
export class ApiError extends Error {
  constructor(kind, message, fields) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    if (fields) {
      for (const k of ["status", "body", "idempotencyKey", "attempts", "queueId", "cause"]) {
        if (fields[k] !== undefined) this[k] = fields[k];
      }
    }
  }
}

/** Builds an ApiError; called from Rust. */
export function makeApiError(kind, message, fields) {
  return new ApiError(kind, message, fields);
}

/**
 * Resolves after `ms` milliseconds, or rejects at once with the signal's
 * reason when `signal` aborts first. Cleans up both the timer and the
 * listener whichever way it ends, so a long-lived client leaks nothing.
 */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(timer); reject(signal.reason); };
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}
