//! The client's events: a standard `EventTarget` inside the client, so
//! listeners get real `CustomEvent`s with the data in `detail`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The platform `EventTarget`, bound with the listener argument as a
    /// plain value so both functions and `{handleEvent}` objects work.
    #[wasm_bindgen(js_name = EventTarget)]
    pub type Target;
    #[wasm_bindgen(constructor, js_class = "EventTarget")]
    fn new() -> Target;
    #[wasm_bindgen(method, js_name = addEventListener)]
    fn add(this: &Target, kind: &str, listener: &JsValue, options: &JsValue);
    #[wasm_bindgen(method, js_name = removeEventListener)]
    fn remove(this: &Target, kind: &str, listener: &JsValue, options: &JsValue);
}

/// Where a client's events are dispatched and listened to.
pub struct Events {
    target: Target,
}

impl Events {
    /// A fresh target with no listeners.
    pub fn new() -> Events {
        Events { target: Target::new() }
    }

    /// Standard `addEventListener` semantics.
    pub fn add_listener(&self, kind: &str, listener: &JsValue, options: &JsValue) {
        self.target.add(kind, listener, options);
    }

    /// Standard `removeEventListener` semantics.
    pub fn remove_listener(&self, kind: &str, listener: &JsValue, options: &JsValue) {
        self.target.remove(kind, listener, options);
    }

    /// Dispatches a `CustomEvent` named `kind` with `detail`. A listener
    /// that throws is reported by the browser and does not stop the SDK.
    pub fn emit(&self, kind: &str, detail: &JsValue) {
        let init = web_sys::CustomEventInit::new();
        init.set_detail(detail);
        if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(kind, &init) {
            let target: &web_sys::EventTarget = self.target.unchecked_ref();
            let _ = target.dispatch_event(&event);
        }
    }
}
