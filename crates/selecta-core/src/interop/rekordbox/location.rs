//! rekordbox's `Location`: `file://localhost/` followed by the absolute path, `/`-separated and
//! percent-encoded as UTF-8. A POSIX path loses its leading `/` to the prefix
//! (`/Users/me/a b.mp3` → `file://localhost/Users/me/a%20b.mp3`); a Windows path keeps its drive
//! letter (`C:\Music\a.mp3` → `file://localhost/C:/Music/a.mp3`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The prefix of every location rekordbox writes.
pub const PREFIX: &str = "file://localhost/";

/// Everything but the unreserved characters and the separator is encoded: a reader decodes any
/// escape, and an unescaped `#`, `?`, `%` or space would end or change the URL.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// Whether `path` starts with a Windows drive (`C:` followed by a separator or nothing).
fn drive_prefix(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    let is_drive = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes.len() == 2 || bytes[2] == b'/' || bytes[2] == b'\\');
    is_drive.then(|| &path[..2])
}

/// The `Location` of an absolute path.
pub fn to_url(absolute_path: &str) -> String {
    let path = absolute_path.replace('\\', "/");
    let (drive, rest) = match drive_prefix(&path) {
        Some(drive) => (drive, &path[2..]),
        None => ("", path.as_str()),
    };
    let rest = if drive.is_empty() { rest.trim_start_matches('/') } else { rest };
    format!("{PREFIX}{drive}{}", utf8_percent_encode(rest, ENCODED))
}

/// The absolute path of a `Location` (`/`-separated; a Windows path keeps its drive letter).
/// `None` for a location that is not a local file URL or whose escapes are not UTF-8.
pub fn from_url(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix(PREFIX)
        .or_else(|| url.strip_prefix("file:///"))
        .or_else(|| url.strip_prefix("file://localhost"))?;
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    let decoded = decoded.trim_start_matches('/');
    if decoded.is_empty() {
        return None;
    }
    Some(if drive_prefix(decoded).is_some() { decoded.to_string() } else { format!("/{decoded}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_and_windows_paths_round_trip() {
        let cases = [
            (
                "/Users/me/Music/A & B (Original Mix).mp3",
                "file://localhost/Users/me/Music/A%20%26%20B%20%28Original%20Mix%29.mp3",
            ),
            ("/music/Ünï 100%#1?.flac", "file://localhost/music/%C3%9Cn%C3%AF%20100%25%231%3F.flac"),
            ("C:/Music/Demo Track 1.mp3", "file://localhost/C:/Music/Demo%20Track%201.mp3"),
        ];
        for (path, url) in cases {
            assert_eq!(to_url(path), url);
            assert_eq!(from_url(url).as_deref(), Some(path));
        }
        assert_eq!(to_url(r"D:\DJ\x.wav"), "file://localhost/D:/DJ/x.wav");
        assert_eq!(from_url("file:///home/x/a%20b.mp3").as_deref(), Some("/home/x/a b.mp3"));
        assert_eq!(from_url("http://example.com/a.mp3"), None);
        assert_eq!(from_url("file://localhost/%FF%FE.mp3"), None);
        assert_eq!(from_url(PREFIX), None);
    }
}
