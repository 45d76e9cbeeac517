//! The request fingerprint: SHA-256 of method, path (with query) and body bytes.
//! A key reused with another fingerprint is a client bug and gets 422.

use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 fingerprint.
pub type Fingerprint = [u8; 32];

/// Fingerprint of one request. The parts are separated by a NUL byte, which
/// cannot occur in a method or a path, so different splits never collide.
pub fn of(method: &str, path_and_query: &str, body: &[u8]) -> Fingerprint {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path_and_query.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_counts() {
        let base = of("POST", "/api/sales", b"{\"a\":1}");
        assert_eq!(base, of("POST", "/api/sales", b"{\"a\":1}"));
        assert_ne!(base, of("PUT", "/api/sales", b"{\"a\":1}"));
        assert_ne!(base, of("POST", "/api/sales/1/refund", b"{\"a\":1}"));
        assert_ne!(base, of("POST", "/api/sales", b"{\"a\":2}"));
        assert_ne!(
            base,
            of("POST", "/api/sales", b"{\"a\": 1}"),
            "the body is compared byte for byte"
        );
    }

    #[test]
    fn separators_prevent_ambiguous_splits() {
        assert_ne!(of("POST", "/a", b"b"), of("POST", "/ab", b""));
    }

    #[test]
    fn known_vector() {
        // sha256("GET\0/\0")
        assert_eq!(
            hex::encode(of("GET", "/", b"")),
            hex::encode(Sha256::digest(b"GET\0/\0"))
        );
    }
}
