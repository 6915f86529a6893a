//! Hex digests shared by CloudFlow's `hash` and the Amazon States Language's `States.Hash` /
//! `$hash`.

use std::fmt::Write as _;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// Every algorithm, with its name as the vendors spell it.
    pub const ALL: [(&'static str, HashAlgorithm); 5] = [
        ("MD5", HashAlgorithm::Md5),
        ("SHA-1", HashAlgorithm::Sha1),
        ("SHA-256", HashAlgorithm::Sha256),
        ("SHA-384", HashAlgorithm::Sha384),
        ("SHA-512", HashAlgorithm::Sha512),
    ];

    /// The algorithm spelled exactly `name` (`MD5`, `SHA-1`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find_map(|(spelling, algorithm)| (spelling == name).then_some(algorithm))
    }

    /// The lowercase hex digest of `input`.
    pub fn hex_digest(self, input: &[u8]) -> String {
        match self {
            HashAlgorithm::Md5 => hex(&Md5::digest(input)),
            HashAlgorithm::Sha1 => hex(&Sha1::digest(input)),
            HashAlgorithm::Sha256 => hex(&Sha256::digest(input)),
            HashAlgorithm::Sha384 => hex(&Sha384::digest(input)),
            HashAlgorithm::Sha512 => hex(&Sha512::digest(input)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_exactly() {
        for (name, algorithm) in HashAlgorithm::ALL {
            assert_eq!(HashAlgorithm::from_name(name), Some(algorithm));
        }
        assert_eq!(HashAlgorithm::from_name("sha-1"), None);
        assert_eq!(HashAlgorithm::from_name("SHA1"), None);
    }

    #[test]
    fn digests_of_abc() {
        // FIPS 180-2 test vectors for "abc".
        assert_eq!(
            HashAlgorithm::Sha384.hex_digest(b"abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            HashAlgorithm::Md5.hex_digest(b"abc"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
