//! A rekordbox XML collection read back: its tracks (id, names, location) and its playlists
//! with the folders above them. Everything else in the file (grids, cues, ratings) is skipped;
//! a file that is not well-formed is refused with the line where reading stopped.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use super::super::{FormatError, line_of};
use super::location;

/// A `TRACK` of the `COLLECTION`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportedTrack {
    /// `TrackID` as written.
    pub track_id: String,
    /// `Name`.
    pub name: String,
    /// `Artist`.
    pub artist: String,
    /// `Location` as written (may be empty or not a file URL).
    pub location: String,
    /// The absolute path of `Location`, when it is a local file URL.
    pub path: Option<String>,
}

impl ImportedTrack {
    /// `Artist - Name`, or whichever exists, or the location: how a report names the track.
    pub fn display_name(&self) -> String {
        match (self.artist.trim(), self.name.trim()) {
            ("", "") => self.location.clone(),
            ("", name) => name.to_string(),
            (artist, "") => artist.to_string(),
            (artist, name) => format!("{artist} - {name}"),
        }
    }
}

/// A playlist (`NODE Type="1"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportedPlaylist {
    /// The folders above it, outermost first (without `ROOT`).
    pub folders: Vec<String>,
    /// Its name.
    pub name: String,
    /// `true` when its entries are Locations (`KeyType="1"`), `false` for TrackIDs.
    pub keyed_by_location: bool,
    /// The `Key` of each entry, in order.
    pub keys: Vec<String>,
}

impl ImportedPlaylist {
    /// `Folder/Sub/Name`.
    pub fn full_name(&self) -> String {
        let mut parts = self.folders.clone();
        parts.push(self.name.clone());
        parts.join("/")
    }
}

/// What a collection file holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RekordboxCollection {
    /// The tracks, in file order.
    pub tracks: Vec<ImportedTrack>,
    /// The playlists, in file order.
    pub playlists: Vec<ImportedPlaylist>,
}

fn attr(element: &BytesStart<'_>, name: &[u8], bytes: &[u8], at: usize) -> Result<String, FormatError> {
    for a in element.attributes().with_checks(false) {
        let a = a.map_err(|e| FormatError::Malformed { line: line_of(bytes, at), reason: e.to_string() })?;
        if a.key.as_ref().as_bytes() == name {
            return a
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .map_err(|e| FormatError::Malformed { line: line_of(bytes, at), reason: e.to_string() });
        }
    }
    Ok(String::new())
}

/// Read a collection exported by rekordbox (or by [`super::write`]).
pub fn read(bytes: &[u8]) -> Result<RekordboxCollection, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::Malformed {
        line: line_of(bytes, e.valid_up_to()),
        reason: "the file is not UTF-8 text".into(),
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = RekordboxCollection::default();
    // Names of the open elements, and of the open NODEs (with their playlist index, if any).
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut nodes: Vec<(String, Option<usize>)> = Vec::new();
    let mut saw_root = false;
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| FormatError::Malformed {
            line: line_of(bytes, usize::try_from(reader.error_position()).unwrap_or(at)),
            reason: e.to_string(),
        })?;
        let (element, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                if open.pop().as_deref() == Some(b"NODE".as_slice()) {
                    nodes.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = element.name().as_ref().as_bytes().to_vec();
        if open.is_empty() {
            if name != b"DJ_PLAYLISTS" {
                return Err(FormatError::Unexpected(format!(
                    "not a rekordbox collection: the root element is <{}>, not <DJ_PLAYLISTS>",
                    String::from_utf8_lossy(&name)
                )));
            }
            saw_root = true;
        }
        let parent = open.last().map(Vec::as_slice);
        match (name.as_slice(), parent) {
            (b"TRACK", Some(b"COLLECTION")) => {
                let location = attr(element, b"Location", bytes, at)?;
                out.tracks.push(ImportedTrack {
                    track_id: attr(element, b"TrackID", bytes, at)?,
                    name: attr(element, b"Name", bytes, at)?,
                    artist: attr(element, b"Artist", bytes, at)?,
                    path: location::from_url(&location),
                    location,
                });
            }
            (b"NODE", _) => {
                let node_name = attr(element, b"Name", bytes, at)?;
                let playlist = if attr(element, b"Type", bytes, at)? == "1" {
                    let skip = usize::from(nodes.first().is_some_and(|(n, _)| n == "ROOT"));
                    let folders = nodes[skip..].iter().map(|(n, _)| n.clone()).collect();
                    out.playlists.push(ImportedPlaylist {
                        folders,
                        name: node_name.clone(),
                        keyed_by_location: attr(element, b"KeyType", bytes, at)? == "1",
                        keys: Vec::new(),
                    });
                    Some(out.playlists.len() - 1)
                } else {
                    None
                };
                if !empty {
                    nodes.push((node_name, playlist));
                }
            }
            (b"TRACK", Some(b"NODE")) => {
                if let Some((_, Some(index))) = nodes.last() {
                    let key = attr(element, b"Key", bytes, at)?;
                    out.playlists[*index].keys.push(key);
                }
            }
            _ => {}
        }
        if !empty {
            open.push(name);
        }
    }
    if !saw_root {
        return Err(FormatError::Unexpected("not a rekordbox collection: no <DJ_PLAYLISTS> element".into()));
    }
    if !open.is_empty() {
        return Err(FormatError::Malformed {
            line: line_of(bytes, bytes.len()),
            reason: format!("the file ends inside <{}>", String::from_utf8_lossy(open.last().map_or(&[][..], |v| v))),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.8.5" Company="AlphaTheta"/>
  <COLLECTION Entries="3">
    <TRACK TrackID="11" Name="Tom &amp; Jerry" Artist="Âme" Location="file://localhost/Users/me/M/a%20b.mp3">
      <TEMPO Inizio="0.1" Bpm="124.00" Metro="4/4" Battito="1"/>
    </TRACK>
    <TRACK TrackID="12" Name="No location" Artist="" Location=""/>
    <TRACK TrackID="13" Name="Win" Artist="X" Location="file://localhost/C:/Music/w.flac"/>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT" Count="2">
      <NODE Type="0" Name="Crates" Count="1">
        <NODE Name="Bangers" Type="1" KeyType="0" Entries="2">
          <TRACK Key="11"/>
          <TRACK Key="13"/>
        </NODE>
      </NODE>
      <NODE Name="Nope" Type="1" KeyType="1" Entries="1">
        <TRACK Key="file://localhost/Users/me/M/a%20b.mp3"/>
      </NODE>
      <NODE Name="Empty" Type="1" KeyType="0" Entries="0"/>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>
"#;

    #[test]
    fn tracks_and_playlists_are_read_with_their_folders() {
        let c = read(SAMPLE.as_bytes()).expect("sample reads");
        assert_eq!(c.tracks.len(), 3);
        assert_eq!(c.tracks[0].name, "Tom & Jerry");
        assert_eq!(c.tracks[0].path.as_deref(), Some("/Users/me/M/a b.mp3"));
        assert_eq!(c.tracks[1].path, None);
        assert_eq!(c.tracks[1].display_name(), "No location");
        assert_eq!(c.tracks[2].path.as_deref(), Some("C:/Music/w.flac"));
        let names: Vec<String> = c.playlists.iter().map(ImportedPlaylist::full_name).collect();
        assert_eq!(names, ["Crates/Bangers", "Nope", "Empty"]);
        assert_eq!(c.playlists[0].keys, ["11", "13"]);
        assert!(c.playlists[1].keyed_by_location);
        assert!(c.playlists[2].keys.is_empty());
    }

    #[test]
    fn malformed_files_name_the_line() {
        let broken = SAMPLE.replace("<TRACK Key=\"13\"/>", "<TRACK Key=\"13\">");
        match read(broken.as_bytes()) {
            // The TRACK opened on line 16 is never closed: the parser notices at `</NODE>` on line 17.
            Err(FormatError::Malformed { line, .. }) => assert_eq!(line, 17, "{broken}"),
            other => panic!("expected a malformed error, got {other:?}"),
        }
        let cut = &SAMPLE[..SAMPLE.len() / 2];
        assert!(matches!(read(cut.as_bytes()), Err(FormatError::Malformed { .. })), "truncated file");
        assert!(matches!(read(b"<html><body/></html>"), Err(FormatError::Unexpected(_))));
        assert!(matches!(read(b""), Err(FormatError::Unexpected(_))));
        assert!(matches!(read(b"\xff\xfe<x/>"), Err(FormatError::Malformed { line: 1, .. })));
    }
}
