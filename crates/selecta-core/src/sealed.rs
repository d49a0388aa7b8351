//! A sealed binary container for files Selecta writes and reads back (the taste model, the
//! library bundle): an 8-byte magic tag, the SHA-256 of the payload, then the payload (bincode 2
//! of a serde value, decoded with an allocation limit). Truncation, a flipped bit or a file of
//! another kind is reported instead of decoding garbage.

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::hash::sha256;

/// Upper bound on what the decoder may allocate (a damaged length must not exhaust memory).
pub(crate) const DECODE_LIMIT: usize = 1 << 31;

/// Why a sealed file cannot be opened.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// Another kind of file, or cut short before the payload.
    #[error("not a {0} file (bad header)")]
    BadHeader(&'static str),
    /// The payload does not match its checksum.
    #[error("{0} file is damaged (checksum mismatch)")]
    Checksum(&'static str),
    /// The payload does not decode.
    #[error("{0} file does not decode: {1}")]
    Decode(&'static str, String),
    /// The value could not be encoded.
    #[error("cannot encode the {0}: {1}")]
    Encode(&'static str, String),
}

/// Seal `value` under `magic`; `what` names the file kind in errors.
pub fn seal<T: Serialize>(magic: &[u8; 8], what: &'static str, value: &T) -> Result<Vec<u8>, SealError> {
    let payload = bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| SealError::Encode(what, e.to_string()))?;
    let mut out = Vec::with_capacity(payload.len() + 40);
    out.extend_from_slice(magic);
    out.extend_from_slice(&sha256(&payload));
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Open bytes sealed under `magic`, verifying the header and the checksum.
pub fn open<T: DeserializeOwned>(magic: &[u8; 8], what: &'static str, bytes: &[u8]) -> Result<T, SealError> {
    if bytes.len() < 40 || &bytes[..8] != magic {
        return Err(SealError::BadHeader(what));
    }
    let (sum, payload) = bytes[8..].split_at(32);
    if sha256(payload).as_slice() != sum {
        return Err(SealError::Checksum(what));
    }
    let config = bincode::config::standard().with_limit::<DECODE_LIMIT>();
    bincode::serde::decode_from_slice(payload, config)
        .map(|(v, _)| v)
        .map_err(|e| SealError::Decode(what, e.to_string()))
}
