//! A DJ session: the tracks played, in order, kept in the library under a name so that a CLI
//! session and the page can go on where the other left off. The last played track is the one
//! playing; every played track is left out of the suggestions; `undo` takes the last one back.

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, ErrorCode};

/// Longest session name.
pub const MAX_SESSION_NAME: usize = 64;
/// Most tracks a session keeps (a night is a few hundred).
pub const MAX_SESSION_TRACKS: usize = 10_000;

/// One played track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Played {
    /// The song.
    pub id: String,
    /// When it was marked played (ms since the Unix epoch, from the caller's clock).
    pub at_ms: i64,
}

/// A named session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Its name.
    pub name: String,
    /// Played tracks, oldest first.
    pub played: Vec<Played>,
    /// When it was started.
    pub created_ms: i64,
}

/// Check a session name: it names a file in the library folder on every system, so 1–64
/// characters without control characters or any of `/ \ : * ? " < > |`, not starting with a dot
/// and not ending with a dot or a space (Windows drops those).
pub fn check_session_name(name: &str) -> Result<(), EngineError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_SESSION_NAME
        && !name.starts_with('.')
        && !name.ends_with(['.', ' '])
        && !name.chars().any(|c| c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid_input(format!(
            "session name {name:?}: 1–{MAX_SESSION_NAME} characters, none of / \\ : * ? \" < > |, not starting with '.' \
             or ending with '.' or a space"
        )))
    }
}

impl Session {
    /// A new, empty session.
    pub fn new(name: &str, now_ms: i64) -> Result<Self, EngineError> {
        check_session_name(name)?;
        Ok(Self { name: name.to_string(), played: Vec::new(), created_ms: now_ms })
    }

    /// The track playing now (the last played).
    pub fn current(&self) -> Option<&str> {
        self.played.last().map(|p| p.id.as_str())
    }

    /// Mark a track played (it becomes the current one).
    pub fn add_played(&mut self, id: &str, now_ms: i64) -> Result<(), EngineError> {
        if self.played.len() >= MAX_SESSION_TRACKS {
            return Err(EngineError::invalid_input(format!(
                "session {:?} already holds {MAX_SESSION_TRACKS} tracks; start a new one",
                self.name
            )));
        }
        self.played.push(Played { id: id.to_string(), at_ms: now_ms });
        Ok(())
    }

    /// Take the last played track back; `None` when nothing was played.
    pub fn undo(&mut self) -> Option<Played> {
        self.played.pop()
    }

    /// The stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Read a stored session.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, EngineError> {
        serde_json::from_slice(bytes)
            .map_err(|e| EngineError::new(ErrorCode::DbError, format!("session {name:?} is damaged: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn played_undo_and_the_stored_form_round_trip() {
        let mut s = Session::new("Friday at Robert Johnson", 1).expect("valid name");
        s.add_played("a", 10).expect("adds");
        s.add_played("b", 20).expect("adds");
        assert_eq!(s.current(), Some("b"));
        let back = Session::from_bytes(&s.name, &s.to_bytes()).expect("reads");
        assert_eq!(back, s);
        assert_eq!(s.undo().map(|p| p.id), Some("b".to_string()));
        assert_eq!(s.current(), Some("a"));
        assert_eq!(s.undo().map(|p| p.id), Some("a".to_string()));
        assert_eq!(s.undo(), None);
    }

    #[test]
    fn names_that_could_escape_the_folder_are_refused() {
        for bad in ["", "../x", "a/b", ".hidden", "x\\y", "c:d", "tab\there", "dot.", &"n".repeat(65)] {
            assert!(Session::new(bad, 0).is_err(), "{bad:?}");
        }
        assert!(Session::new("warm-up_2.0", 0).is_ok());
        assert!(Session::new("Friday – Robert Johnson (Offenbach)", 0).is_ok());
        assert_eq!(
            Session::from_bytes("x", b"{not json").expect_err("damaged").code,
            ErrorCode::DbError,
            "a damaged session names itself"
        );
    }
}
