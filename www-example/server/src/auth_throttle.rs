//! Throttling of failed authentication, per client: a client (an IPv4
//! address, or an IPv6 /64, which one holder usually controls whole) gets
//! [`FAILURE_BURST`] wrong tokens, then one more every [`FAILURE_PERIOD`];
//! beyond that it is answered 429 with `Retry-After` without its token being
//! looked up at all, so no guess is tested while it waits. The rate is
//! governor's GCRA; the memory is bounded: at most [`MAX_CLIENTS`] clients are
//! tracked apart, and failures from any further client share one key, so a
//! flood from many addresses is throttled as a whole rather than growing the
//! tables. Behind a reverse proxy every client is the proxy's address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Wrong tokens a client may send at once.
pub const FAILURE_BURST: u32 = 10;

/// After the burst, one more wrong token per this period.
pub const FAILURE_PERIOD: Duration = Duration::from_secs(6);

/// Most clients tracked apart.
pub const MAX_CLIENTS: usize = 10_000;

/// Who a failure is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// An IPv4 address (IPv4-mapped IPv6 included).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
    /// Every client beyond [`MAX_CLIENTS`].
    Overflow,
}

impl Client {
    /// The client an address belongs to.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Client::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4.octets()),
                None => Client::V6Prefix((v6.to_bits() >> 64) as u64),
            },
        }
    }
}

/// The failed-authentication throttle of one server.
pub struct AuthThrottle {
    failures: DefaultKeyedRateLimiter<Client>,
    blocked: Mutex<HashMap<Client, Instant>>,
    clock: DefaultClock,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        let burst = NonZeroU32::new(FAILURE_BURST).expect("a positive burst");
        let quota = Quota::with_period(FAILURE_PERIOD)
            .expect("a positive period")
            .allow_burst(burst);
        Self {
            failures: DefaultKeyedRateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }
}

impl AuthThrottle {
    /// How long `ip` must still wait before its next token is looked up;
    /// `None` when it may try now.
    pub fn wait_for(&self, ip: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = blocked.get(&Client::of(ip)).or_else(|| {
            (self.failures.len() >= MAX_CLIENTS)
                .then(|| blocked.get(&Client::Overflow))
                .flatten()
        })?;
        until
            .checked_duration_since(Instant::now())
            .filter(|wait| !wait.is_zero())
    }

    /// Counts a wrong token from `ip`; returns how long the client must now
    /// wait when this failure exhausted its allowance.
    pub fn record_failure(&self, ip: IpAddr) -> Option<Duration> {
        let client = self.tracked(Client::of(ip));
        let not_until = self.failures.check_key(&client).err()?;
        let wait = not_until.wait_time_from(self.clock.now());
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() >= MAX_CLIENTS {
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(client, now + wait);
        Some(wait)
    }

    /// `client`, or [`Client::Overflow`] when too many clients are tracked.
    fn tracked(&self, client: Client) -> Client {
        if self.failures.len() >= MAX_CLIENTS {
            self.failures.retain_recent();
            self.failures.shrink_to_fit();
        }
        if self.failures.len() >= MAX_CLIENTS {
            Client::Overflow
        } else {
            client
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_blocked_after_its_burst_and_others_are_not() {
        let throttle = AuthThrottle::default();
        let guesser: IpAddr = "192.0.2.1".parse().unwrap();
        let neighbour: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..FAILURE_BURST {
            assert_eq!(throttle.wait_for(guesser), None);
            assert_eq!(throttle.record_failure(guesser), None);
        }
        let wait = throttle.record_failure(guesser).expect("blocked");
        assert!(wait > Duration::ZERO && wait <= FAILURE_PERIOD, "{wait:?}");
        assert!(throttle.wait_for(guesser).is_some());
        assert_eq!(throttle.wait_for(neighbour), None);
    }

    #[test]
    fn ipv6_clients_are_their_64_bit_prefix() {
        let a = Client::of("2001:db8:1:2::1".parse().unwrap());
        let b = Client::of("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = Client::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            Client::of("::ffff:192.0.2.1".parse().unwrap()),
            Client::of("192.0.2.1".parse().unwrap())
        );
    }
}
