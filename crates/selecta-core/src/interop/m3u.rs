//! M3U8 playlists of any list Selecta produces (a planned set, suggestions): `#EXTM3U`, one
//! `#EXTINF:<seconds>,<Artist - Title>` line and one location per track, UTF-8. Line breaks in
//! tags would start a new entry in a player, so they become spaces.

/// One playlist entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Where the player finds the file: relative to the playlist's folder, or absolute.
    pub location: String,
    /// Duration, seconds (written whole, rounded).
    pub seconds: f64,
    /// Artist tag.
    pub artist: Option<String>,
    /// Title tag.
    pub title: Option<String>,
    /// Shown when the title is missing (usually the file path).
    pub fallback: String,
}

fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// The playlist text.
pub fn playlist(entries: &[Entry]) -> String {
    let mut out = String::from("#EXTM3U\n");
    for e in entries {
        let label = match (&e.artist, &e.title) {
            (Some(a), Some(t)) => format!("{} - {}", one_line(a), one_line(t)),
            (None, Some(t)) => one_line(t),
            _ => {
                let name = e.fallback.rsplit(['/', '\\']).next().unwrap_or(&e.fallback);
                one_line(name.rsplit_once('.').map_or(name, |(stem, _)| stem))
            }
        };
        out.push_str(&format!("#EXTINF:{},{}\n{}\n", e.seconds.round() as i64, label, one_line(&e.location)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_written_the_way_players_read_them() {
        let entries = [
            Entry {
                location: "Deep/Ünïcode – track.flac".into(),
                seconds: 301.6,
                artist: Some("Âme".into()),
                title: Some("Rej\n(Original)".into()),
                fallback: "x".into(),
            },
            Entry {
                location: "/music/B side.mp3".into(),
                seconds: 59.4,
                artist: None,
                title: None,
                fallback: "sub/B side.mp3".into(),
            },
        ];
        assert_eq!(
            playlist(&entries),
            "#EXTM3U\n#EXTINF:302,Âme - Rej (Original)\nDeep/Ünïcode – track.flac\n#EXTINF:59,B side\n/music/B side.mp3\n"
        );
    }
}
