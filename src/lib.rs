//! pos-resilience: exactly-once writes for browser point-of-sale apps.
