//! What a client's live calls and its outbox drains share: the
//! configuration, the events, the outbox, the drainer and this client's
//! live writes. Calls and drains both depend on it; neither on the other.

use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;


use crate::config::ClientConfig;
use crate::events::{Event, Events};
use crate::monitor::Monitor;
use crate::outbox::drain::Drainer;
use crate::outbox::live::LiveWrites;
use crate::outbox::queue::Outbox;

/// The state behind one `ApiClient`.
pub(crate) struct Context {
    pub config: ClientConfig,
    pub events: Events,
    pub outbox: Outbox,
    pub drainer: Drainer,
    /// The records this client wrote ahead and is sending.
    pub live: LiveWrites,
    /// What the client knows of its connection to the server.
    pub monitor: Monitor,
}

impl Context {
    /// The context of a new client, its drainer attached.
    pub fn new(config: ClientConfig) -> Rc<Context> {
        let events = Events::new();
        let monitor = Monitor::new(config.health_url.clone(), config.probe_timeout_ms);
        let ctx = Rc::new(Context {
            outbox: Outbox::new(&config.namespace, events.clone()),
            config,
            events,
            drainer: Drainer::new(),
            live: LiveWrites::new(),
            monitor,
        });
        ctx.drainer.attach(&ctx);
        ctx
    }

    /// With `backgroundSync`, asks the browser to wake the Service Worker
    /// to drain this namespace's queue, even with no page open. The sync
    /// tag is the queue's database name.
    pub fn request_background_sync(&self) {
        if self.config.background_sync {
            let _ = crate::js::register_sync(&crate::outbox::store::database_name(&self.config.namespace));
        }
    }

    /// The open outbox as this client's answered calls left it: the removals
    /// of their records committed first. What the management calls read and
    /// change.
    pub async fn settled_store(self: &Rc<Self>) -> Result<Rc<crate::outbox::store::Store>, crate::error::Error> {
        self.live.settled(self).await;
        self.outbox.open().await
    }

    /// A timer that runs `action` on the context of `client` after `ms`,
    /// if the client still exists; dropping it cancels it. The outbox's and
    /// the connectivity monitor's timers are all this one closure type.
    pub fn timer(client: Weak<Context>, ms: u32, action: fn(&Rc<Context>)) -> Timeout {
        Timeout::new(ms, move || {
            if let Some(ctx) = client.upgrade() {
                action(&ctx);
            }
        })
    }

    /// Dispatches `event` to the client's listeners.
    pub fn emit(&self, event: Event) {
        self.events.emit(event);
    }
}
