//! The ids a plan gives each request, its dispatch id and its fingerprint: a digest held
//! inline rather than as a string of hex digits, so a 10,000-target plan (and its report)
//! does not make 20,000 small allocations.

/// `N` lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hex<const N: usize>([u8; N]);

/// [`super::dispatch_id`]: 16 hex digits.
pub type DispatchId = Hex<16>;

/// [`super::fingerprint`]: a SHA-256 digest, written as 64 hex digits. Held as its 32 bytes, so
/// a job is no bigger than with the digits on the heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub(super) fn of(digest: [u8; 32]) -> Fingerprint {
        Fingerprint(digest)
    }

    /// The 64 hex digits it is written as.
    pub fn hex(&self) -> Hex<64> {
        Hex::of(&self.0)
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.hex().as_str())
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.hex().as_str(), f)
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.hex().as_str())
    }
}

impl<const N: usize> Hex<N> {
    /// The digits of `bytes`, which are `N / 2` long.
    pub(super) fn of(bytes: &[u8]) -> Hex<N> {
        debug_assert_eq!(bytes.len() * 2, N);
        let mut digits = [b'0'; N];
        // Fails only for bytes of another length, which no caller passes.
        let _ = hex::encode_to_slice(bytes, &mut digits);
        Hex(digits)
    }

    pub fn as_str(&self) -> &str {
        // Hex digits are ASCII: this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl<const N: usize> std::ops::Deref for Hex<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> std::fmt::Display for Hex<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> std::fmt::Debug for Hex<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> serde::Serialize for Hex<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// `report merge` reads the ids a shard's report wrote back.
impl<const N: usize> Hex<N> {
    /// `N` lowercase hex digits, as [`Hex::as_str`] writes them; anything else is `None`.
    pub fn parse(text: &str) -> Option<Hex<N>> {
        let lower = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        let digits: [u8; N] = text.as_bytes().try_into().ok()?;
        digits.iter().all(lower).then_some(Hex(digits))
    }
}

impl Fingerprint {
    /// 64 lowercase hex digits, as [`Fingerprint::hex`] writes them; anything else is `None`.
    pub fn parse(text: &str) -> Option<Fingerprint> {
        let digits = Hex::<64>::parse(text)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits.as_str(), &mut bytes).ok()?;
        Some(Fingerprint(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_read_as_the_string_they_spell() {
        let id = DispatchId::of(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(id.as_str(), "0123456789abcdef");
        assert_eq!(
            format!("{id} {id:?}"),
            "0123456789abcdef \"0123456789abcdef\""
        );
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0123456789abcdef\"");
        let fingerprint = Fingerprint::of([0xa5; 32]);
        assert_eq!(fingerprint.to_string(), "a5".repeat(32));
        assert_eq!(
            serde_json::to_string(&fingerprint).unwrap(),
            format!("\"{}\"", "a5".repeat(32))
        );
    }
}
