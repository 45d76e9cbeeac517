//! The connectivity monitor: keeps the client's [`Connectivity`] current
//! from the browser's word and events and from health probes, tells the app
//! of each change (`connectivity` event), and starts a drain when the server
//! can be reached again. The decisions are in `connectivity`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::Object;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::call::navigator_online;
use crate::connectivity::{connectivity, next_step, Connectivity, Next};
use crate::context::Context;
use crate::events::Event;
use crate::js::{self, set};

/// What one client knows of its connection to the server.
pub struct Monitor {
    /// The health URL (absolute), if the client was given one.
    health_url: Option<String>,
    probe_timeout_ms: f64,
    /// The last probe's verdict; true until a probe fails.
    answering: Cell<bool>,
    /// Unanswered probes in a row.
    failures: Cell<u32>,
    /// The last answered probe's round trip.
    rtt_ms: Cell<Option<f64>>,
    /// The state last reported to the app.
    reported: Cell<Connectivity>,
    timer: RefCell<Option<Timeout>>,
    probing: Cell<bool>,
    /// The client was closed: no more rechecks or probes.
    stopped: Cell<bool>,
}

impl Monitor {
    /// A monitor for `health_url` (none: the browser's word alone).
    pub fn new(health_url: Option<String>, probe_timeout_ms: f64) -> Monitor {
        Monitor {
            health_url,
            probe_timeout_ms,
            answering: Cell::new(true),
            failures: Cell::new(0),
            rtt_ms: Cell::new(None),
            reported: Cell::new(connectivity(navigator_online(), true)),
            timer: RefCell::new(None),
            probing: Cell::new(false),
            stopped: Cell::new(false),
        }
    }

    /// The state now.
    pub fn now(&self) -> Connectivity {
        connectivity(navigator_online(), self.answering.get())
    }

    /// `{state, rtt}`: the `connectivity` getter's value.
    pub fn snapshot(&self) -> JsValue {
        let o = Object::new();
        set(&o, "state", self.now().as_str());
        set(&o, "rtt", self.rtt_ms.get().map(JsValue::from).unwrap_or(JsValue::NULL));
        o.into()
    }

    /// Reads the state again: tells the app when it changed, drains when
    /// the server became reachable, and keeps watching while it is not.
    pub fn refresh(&self, ctx: &Rc<Context>) {
        let now = self.now();
        let before = self.reported.replace(now);
        if now != before {
            ctx.emit(Event::Connectivity { state: now.as_str(), previous: before.as_str(), rtt: self.rtt_ms.get() });
            if now == Connectivity::Online {
                ctx.drainer.drain_in_background(true);
            }
        }
        self.plan(ctx, now);
    }

    /// The browser reports a network again: with a server in doubt, probe
    /// it at once rather than after the backoff.
    pub fn browser_online(&self, ctx: &Rc<Context>) {
        if self.answering.get() {
            self.refresh(ctx);
        } else {
            self.doubt(ctx);
        }
    }

    /// A request got no response while the browser reports a network: the
    /// server is in doubt, so probe it now (one probe at a time).
    pub fn doubt(&self, ctx: &Rc<Context>) {
        if self.stopped.get() || self.health_url.is_none() || self.probing.get() {
            return;
        }
        self.timer.borrow_mut().take();
        self.probe(ctx);
    }

    /// Arms the next recheck or probe, unless one is pending.
    fn plan(&self, ctx: &Rc<Context>, now: Connectivity) {
        if self.stopped.get() || self.timer.borrow().is_some() || self.probing.get() {
            return;
        }
        let (delay, probe) = match next_step(now, self.health_url.is_some(), self.failures.get(), js::random()) {
            Next::Rest => return,
            Next::Recheck(ms) => (ms, false),
            Next::Probe(ms) => (ms, true),
        };
        let due: fn(&Rc<Context>) = if probe { probe_due } else { recheck_due };
        let timer = Context::timer(Rc::downgrade(ctx), delay as u32, due);
        *self.timer.borrow_mut() = Some(timer);
    }

    /// Sends one probe and records its verdict.
    fn probe(&self, ctx: &Rc<Context>) {
        let Some(url) = self.health_url.clone() else { return };
        self.probing.set(true);
        let pending = js::probe(&url, self.probe_timeout_ms);
        let weak = Rc::downgrade(ctx);
        let _ = js::promise(async move {
            let rtt = JsFuture::from(pending).await.ok().and_then(|v| v.as_f64()).filter(|ms| *ms >= 0.0);
            if let Some(ctx) = weak.upgrade() {
                let m = &ctx.monitor;
                m.probing.set(false);
                m.answering.set(rtt.is_some());
                m.failures.set(if rtt.is_some() { 0 } else { m.failures.get() + 1 });
                if rtt.is_some() {
                    m.rtt_ms.set(rtt);
                }
                m.refresh(&ctx);
            }
            Ok(JsValue::UNDEFINED)
        });
    }

    /// Cancels the pending recheck or probe, and plans none again.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.timer.borrow_mut().take();
    }
}

/// A planned probe is due: probe, unless the browser reports no network
/// (then only read the state again).
fn probe_due(ctx: &Rc<Context>) {
    ctx.monitor.timer.borrow_mut().take();
    if navigator_online() {
        ctx.monitor.probe(ctx);
    } else {
        ctx.monitor.refresh(ctx);
    }
}

/// A planned recheck is due: read the state again.
fn recheck_due(ctx: &Rc<Context>) {
    ctx.monitor.timer.borrow_mut().take();
    ctx.monitor.refresh(ctx);
}
