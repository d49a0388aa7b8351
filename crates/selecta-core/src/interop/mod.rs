//! Where Selecta's answers leave and labels come in: the file formats of the software DJs play
//! with. Each is bytes in, records out (or records in, text out), with no file system, so the
//! page exports and imports exactly what the CLI does:
//! - [`rekordbox`]: rekordbox's XML collection, written ([`rekordbox::write`]) and read
//!   ([`rekordbox::read`]), with its `file://localhost/` locations;
//! - [`m3u`]: M3U8 playlists any player opens;
//! - [`bandcamp`]: a Bandcamp CSV, matched to library songs by artist and title ([`names`]
//!   normalises them).
//!
//! The engine ([`crate::engine`]) decides what goes into a file and what an imported file does
//! to the library; these modules only know the formats.

pub mod bandcamp;
pub mod m3u;
pub mod names;
pub mod rekordbox;
mod xml_text;

use thiserror::Error;

/// A file that cannot be read as the format it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Malformed XML or CSV, with the line (1-based) where reading stopped.
    #[error("line {line}: {reason}")]
    Malformed {
        /// Line of the input.
        line: u64,
        /// What is wrong there.
        reason: String,
    },
    /// Well-formed, but not the expected document (e.g. no `DJ_PLAYLISTS` root).
    #[error("{0}")]
    Unexpected(String),
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(bytes: &[u8], offset: usize) -> u64 {
    let end = offset.min(bytes.len());
    1 + memchr::memchr_iter(b'\n', &bytes[..end]).count() as u64
}
