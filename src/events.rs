//! The client's events, in one place: each event's name, the `detail` it
//! carries, and its TypeScript shape. Events are dispatched through a
//! standard `EventTarget` inside the client, so listeners get real
//! `CustomEvent`s with the data in `detail`.

use js_sys::Object;
use wasm_bindgen::prelude::*;

use crate::js::set;

/// Declares the event names once: the [`Kind`] enum, the list
/// `eventNames()` returns, and the TypeScript map from name to `detail` type.
macro_rules! event_kinds {
    ($( $(#[doc = $doc:literal])* $kind:ident = $name:literal : $ts:literal, )*) => {
        /// Which event: its name is [`Kind::name`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Kind {
            $( $(#[doc = $doc])* $kind, )*
        }

        impl Kind {
            /// The event's name, as listeners subscribe to it.
            pub fn name(self) -> &'static str {
                match self {
                    $( Kind::$kind => $name, )*
                }
            }
        }

        /// Every event name, in declaration order.
        const NAMES: &[&str] = &[$( $name, )*];

        #[wasm_bindgen(typescript_custom_section)]
        const EVENT_MAP: &'static str = concat!(
            "/** Event names and the type of their `detail`. */\nexport interface ApiClientEventMap {\n",
            $( $( "  /**", $doc, " */\n", )* "  \"", $name, "\": ", $ts, ";\n", )*
            "}\n",
        );
    };
}

event_kinds! {
    /// An attempt failed and another follows after `delay`.
    Retry = "retry": "RetryEventDetail",
    /// The browser reports a network connection again.
    Online = "online": "null",
    /// The browser reports no network connection.
    Offline = "offline": "null",
    /// A write could not be delivered now and waits in the outbox.
    Queued = "queued": "QueuedEventDetail",
    /// A request from the outbox was delivered.
    Sent = "sent": "SentEventDetail",
    /// A request from the outbox can never be delivered as it is.
    DeadLetter = "dead-letter": "DeadLetter",
    /// A replay got 401 even with fresh headers; the drain waits for new credentials.
    AuthRequired = "auth-required": "AuthRequiredEventDetail",
    /// A drain started.
    DrainStart = "drain-start": "{ forced: boolean }",
    /// A drain ended (or could not start: then `error` says why).
    DrainEnd = "drain-end": "DrainReport",
    /// The queue changed size; fired in every tab of the origin.
    QueueSize = "queue-size": "{ size: number }",
    /// The connection to the server changed state.
    Connectivity = "connectivity": "Connectivity & { previous: ConnectivityState }",
    /// The write goes to the network, but is not durable: if its page dies before the answer, no outbox record remembers it.
    WriteAheadFailed = "write-ahead-failed": "WriteAheadFailedEventDetail",
}

#[wasm_bindgen(typescript_custom_section)]
const EVENT_DETAILS: &'static str = r#"
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

/** `detail` of the `queued` event. */
export interface QueuedEventDetail {
  queueId: number;
  idempotencyKey: string;
  method: string;
  url: string;
  /** Why it could not be delivered now: "offline", "unreachable", "timeout", "network: …", "status N". */
  reason: string;
}

/** `detail` of the `sent` event: a queued request was delivered. */
export interface SentEventDetail {
  queueId: number;
  idempotencyKey: string;
  method: string;
  url: string;
  status: number;
  body: unknown;
  /** True when the server replayed its stored response. */
  replayed: boolean;
}

/** `detail` of the `auth-required` event: a replay got 401 even with fresh headers. */
export interface AuthRequiredEventDetail {
  queueId: number;
  idempotencyKey: string;
  url: string;
  status: 401;
}

/** `detail` of the `write-ahead-failed` event: a write could not be stored before its first attempt. */
export interface WriteAheadFailedEventDetail {
  idempotencyKey: string;
  method: string;
  url: string;
  /** The storage failure (the browser's words). */
  error: string;
}
"#;

/// One event with its data. [`Event::detail`] builds the `detail` object
/// the TypeScript above describes.
pub enum Event<'a> {
    /// See [`Kind::Retry`].
    Retry { attempt: u32, delay: f64, reason: &'a str, url: &'a str, idempotency_key: Option<&'a str>, status: Option<u16> },
    /// See [`Kind::Online`].
    Online,
    /// See [`Kind::Offline`].
    Offline,
    /// See [`Kind::Queued`].
    Queued { queue_id: f64, idempotency_key: Option<&'a str>, method: &'a str, url: &'a str, reason: &'a str },
    /// See [`Kind::Sent`].
    Sent { queue_id: &'a JsValue, idempotency_key: &'a str, method: &'a str, url: &'a str, status: u16, body: &'a JsValue, replayed: bool },
    /// See [`Kind::DeadLetter`]: the stored dead letter (`outbox::record::DeadLetter`).
    DeadLetter(&'a JsValue),
    /// See [`Kind::AuthRequired`].
    AuthRequired { queue_id: &'a JsValue, idempotency_key: &'a str, url: &'a str },
    /// See [`Kind::DrainStart`].
    DrainStart { forced: bool },
    /// See [`Kind::DrainEnd`]: the drain's report.
    DrainEnd(&'a JsValue),
    /// See [`Kind::QueueSize`]: `{size}`, from this tab or broadcast by another.
    QueueSize(&'a JsValue),
    /// See [`Kind::Connectivity`].
    Connectivity { state: &'static str, previous: &'static str, rtt: Option<f64> },
    /// See [`Kind::WriteAheadFailed`].
    WriteAheadFailed { idempotency_key: Option<&'a str>, method: &'a str, url: &'a str, error: &'a str },
}

impl Event<'_> {
    /// Which event this is.
    pub fn kind(&self) -> Kind {
        match self {
            Event::Retry { .. } => Kind::Retry,
            Event::Online => Kind::Online,
            Event::Offline => Kind::Offline,
            Event::Queued { .. } => Kind::Queued,
            Event::Sent { .. } => Kind::Sent,
            Event::DeadLetter(_) => Kind::DeadLetter,
            Event::AuthRequired { .. } => Kind::AuthRequired,
            Event::DrainStart { .. } => Kind::DrainStart,
            Event::DrainEnd(_) => Kind::DrainEnd,
            Event::QueueSize(_) => Kind::QueueSize,
            Event::Connectivity { .. } => Kind::Connectivity,
            Event::WriteAheadFailed { .. } => Kind::WriteAheadFailed,
        }
    }

    /// The event's `detail`.
    pub fn detail(&self) -> JsValue {
        let key = crate::js::text_or_null;
        let o = Object::new();
        match *self {
            Event::Online | Event::Offline => return JsValue::NULL,
            Event::DeadLetter(v) | Event::DrainEnd(v) | Event::QueueSize(v) => return v.clone(),
            Event::Retry { attempt, delay, reason, url, idempotency_key, status } => {
                set(&o, "attempt", attempt);
                set(&o, "delay", delay);
                set(&o, "reason", reason);
                set(&o, "url", url);
                set(&o, "idempotencyKey", key(idempotency_key));
                if let Some(s) = status {
                    set(&o, "status", s);
                }
            }
            Event::Queued { queue_id, idempotency_key, method, url, reason } => {
                set(&o, "queueId", queue_id);
                set(&o, "idempotencyKey", key(idempotency_key));
                set(&o, "method", method);
                set(&o, "url", url);
                set(&o, "reason", reason);
            }
            Event::Sent { queue_id, idempotency_key, method, url, status, body, replayed } => {
                set(&o, "queueId", queue_id.clone());
                set(&o, "idempotencyKey", idempotency_key);
                set(&o, "method", method);
                set(&o, "url", url);
                set(&o, "status", status);
                set(&o, "body", body.clone());
                set(&o, "replayed", replayed);
            }
            Event::AuthRequired { queue_id, idempotency_key, url } => {
                set(&o, "queueId", queue_id.clone());
                set(&o, "idempotencyKey", idempotency_key);
                set(&o, "url", url);
                set(&o, "status", 401);
            }
            Event::DrainStart { forced } => set(&o, "forced", forced),
            Event::Connectivity { state, previous, rtt } => {
                set(&o, "state", state);
                set(&o, "previous", previous);
                set(&o, "rtt", rtt.map(JsValue::from).unwrap_or(JsValue::NULL));
            }
            Event::WriteAheadFailed { idempotency_key, method, url, error } => {
                set(&o, "idempotencyKey", key(idempotency_key));
                set(&o, "method", method);
                set(&o, "url", url);
                set(&o, "error", error);
            }
        }
        o.into()
    }
}

/// The names of every event a client dispatches, for apps that subscribe
/// to all of them (a log, a status line).
#[wasm_bindgen(js_name = eventNames, unchecked_return_type = "(keyof ApiClientEventMap)[]")]
pub fn event_names() -> js_sys::Array {
    NAMES.iter().map(|n| JsValue::from_str(n)).collect()
}

#[wasm_bindgen]
extern "C" {
    /// The platform `EventTarget`, bound with the listener argument as a
    /// plain value so both functions and `{handleEvent}` objects work. The
    /// client's own target, and the global object and document it listens to.
    #[wasm_bindgen(js_name = EventTarget)]
    #[derive(Clone)]
    pub type Target;
    #[wasm_bindgen(constructor, js_class = "EventTarget")]
    fn new() -> Target;
    #[wasm_bindgen(method, js_name = addEventListener)]
    pub fn add(this: &Target, kind: &JsValue, listener: &JsValue, options: &JsValue);
    #[wasm_bindgen(method, js_name = removeEventListener)]
    pub fn remove(this: &Target, kind: &JsValue, listener: &JsValue, options: &JsValue);
    #[wasm_bindgen(method, js_name = dispatchEvent)]
    fn dispatch(this: &Target, event: &JsValue);

    /// `new CustomEvent(kind, init)`.
    #[wasm_bindgen(js_name = CustomEvent)]
    type CustomEvent;
    #[wasm_bindgen(constructor, js_class = "CustomEvent")]
    fn new(kind: &str, init: &JsValue) -> CustomEvent;
}

/// Where a client's events are dispatched and listened to. A clone
/// dispatches to the same listeners.
#[derive(Clone)]
pub struct Events {
    target: Target,
}

impl Events {
    /// A fresh target with no listeners.
    pub fn new() -> Events {
        Events { target: Target::new() }
    }

    /// Standard `addEventListener` semantics; `kind` is passed on as the
    /// caller gave it (no copy through a Rust string).
    pub fn add_listener(&self, kind: &JsValue, listener: &JsValue, options: &JsValue) {
        self.target.add(kind, listener, options);
    }

    /// Standard `removeEventListener` semantics.
    pub fn remove_listener(&self, kind: &JsValue, listener: &JsValue, options: &JsValue) {
        self.target.remove(kind, listener, options);
    }

    /// Dispatches `event` as a `CustomEvent`. A listener that throws is
    /// reported by the browser and does not stop the SDK.
    pub fn emit(&self, event: Event) {
        let init = Object::new();
        set(&init, "detail", event.detail());
        self.target.dispatch(&CustomEvent::new(event.kind().name(), &init));
    }
}
