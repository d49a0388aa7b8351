//! The collection rendered as rekordbox XML. Attribute order, number formats and indentation
//! are fixed, so the same input always gives the same bytes; names of playlists and folders are
//! made unique per folder (` (2)`, ` (3)` …), as rekordbox needs to tell them apart.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::super::xml_text::attribute;

/// A memory cue (`POSITION_MARK Type="0" Num="-1"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// Shown in rekordbox beside the cue.
    pub name: String,
    /// Position, seconds.
    pub start_sec: f64,
}

/// One `TRACK` of the `COLLECTION`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Track {
    /// `TrackID`, unique in the file, referred to by playlists.
    pub track_id: u32,
    /// Title.
    pub name: String,
    /// Artist.
    pub artist: String,
    /// Album.
    pub album: String,
    /// Genre.
    pub genre: String,
    /// e.g. `MP3 File`.
    pub kind: String,
    /// File size, bytes.
    pub size: u64,
    /// Duration, whole seconds.
    pub total_time: u64,
    /// Year, 0 when unknown.
    pub year: i32,
    /// `yyyy-mm-dd`.
    pub date_added: String,
    /// kbps.
    pub bit_rate: u32,
    /// Hz.
    pub sample_rate: u32,
    /// Tempo, 0 when unknown.
    pub average_bpm: f64,
    /// Key in the chosen notation, empty when unknown.
    pub tonality: String,
    /// `file://localhost/…` ([`super::location::to_url`]).
    pub location: String,
    /// The beat grid: the first downbeat (seconds) and the tempo.
    pub grid: Option<(f64, f64)>,
    /// Memory cues.
    pub cues: Vec<Cue>,
}

/// A node of the `PLAYLISTS` tree.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaylistNode {
    /// A folder of playlists and folders.
    Folder {
        /// Its name.
        name: String,
        /// What it holds, in order.
        children: Vec<PlaylistNode>,
    },
    /// A playlist of TrackIDs, in order.
    Playlist {
        /// Its name.
        name: String,
        /// TrackIDs of the collection.
        track_ids: Vec<u32>,
    },
}

/// The whole file: `product_version` goes into `PRODUCT`; `playlists` go under `ROOT`.
pub fn write(product_version: &str, tracks: &[Track], playlists: &[PlaylistNode]) -> String {
    let mut out = String::with_capacity(512 + tracks.len() * 700);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DJ_PLAYLISTS Version=\"1.0.0\">\n");
    let _ =
        writeln!(out, "  <PRODUCT Name=\"Selecta\" Version=\"{}\" Company=\"Selecta\"/>", attribute(product_version));
    let _ = writeln!(out, "  <COLLECTION Entries=\"{}\">", tracks.len());
    for t in tracks {
        write_track(&mut out, t);
    }
    out.push_str("  </COLLECTION>\n  <PLAYLISTS>\n");
    let root = PlaylistNode::Folder { name: "ROOT".into(), children: playlists.to_vec() };
    write_node(&mut out, &root, 2);
    out.push_str("  </PLAYLISTS>\n</DJ_PLAYLISTS>\n");
    out
}

fn write_track(out: &mut String, t: &Track) {
    let _ = write!(
        out,
        "    <TRACK TrackID=\"{}\" Name=\"{}\" Artist=\"{}\" Album=\"{}\" Genre=\"{}\" Kind=\"{}\" Size=\"{}\" \
         TotalTime=\"{}\" Year=\"{}\" DateAdded=\"{}\" BitRate=\"{}\" SampleRate=\"{}\" AverageBpm=\"{:.2}\" \
         Tonality=\"{}\" Location=\"{}\"",
        t.track_id,
        attribute(&t.name),
        attribute(&t.artist),
        attribute(&t.album),
        attribute(&t.genre),
        attribute(&t.kind),
        t.size,
        t.total_time,
        t.year,
        attribute(&t.date_added),
        t.bit_rate,
        t.sample_rate,
        t.average_bpm,
        attribute(&t.tonality),
        attribute(&t.location),
    );
    if t.grid.is_none() && t.cues.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if let Some((first_downbeat, bpm)) = t.grid {
        let _ =
            writeln!(out, "      <TEMPO Inizio=\"{first_downbeat:.3}\" Bpm=\"{bpm:.2}\" Metro=\"4/4\" Battito=\"1\"/>");
    }
    for cue in &t.cues {
        let _ = writeln!(
            out,
            "      <POSITION_MARK Name=\"{}\" Type=\"0\" Start=\"{:.3}\" Num=\"-1\"/>",
            attribute(&cue.name),
            cue.start_sec
        );
    }
    out.push_str("    </TRACK>\n");
}

/// `names` made unique in order: a repeated name gets ` (2)`, ` (3)` … (skipping names taken).
fn unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<&str> = names.collect();
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let base = super::super::xml_text::clean(name).trim().to_string();
        let base = if base.is_empty() { "Untitled".to_string() } else { base };
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base} ({n})");
            n += 1;
        }
        taken.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

fn node_name(node: &PlaylistNode) -> &str {
    match node {
        PlaylistNode::Folder { name, .. } | PlaylistNode::Playlist { name, .. } => name,
    }
}

fn write_node(out: &mut String, node: &PlaylistNode, depth: usize) {
    write_named_node(out, node, node_name(node), depth);
}

fn write_named_node(out: &mut String, node: &PlaylistNode, name: &str, depth: usize) {
    let indent = "  ".repeat(depth);
    match node {
        PlaylistNode::Folder { children, .. } => {
            let _ =
                writeln!(out, "{indent}<NODE Type=\"0\" Name=\"{}\" Count=\"{}\">", attribute(name), children.len());
            let names = unique_names(children.iter().map(node_name));
            for (child, name) in children.iter().zip(&names) {
                write_named_node(out, child, name, depth + 1);
            }
            let _ = writeln!(out, "{indent}</NODE>");
        }
        PlaylistNode::Playlist { track_ids, .. } => {
            let _ = writeln!(
                out,
                "{indent}<NODE Name=\"{}\" Type=\"1\" KeyType=\"0\" Entries=\"{}\">",
                attribute(name),
                track_ids.len()
            );
            for id in track_ids {
                let _ = writeln!(out, "{indent}  <TRACK Key=\"{id}\"/>");
            }
            let _ = writeln!(out, "{indent}</NODE>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_collection_is_written_exactly() {
        let track = Track {
            track_id: 1,
            name: "Rej <Original & \"Mix\">".into(),
            artist: "Âme".into(),
            kind: "FLAC File".into(),
            size: 1234,
            total_time: 301,
            year: 2005,
            date_added: "2026-12-05".into(),
            bit_rate: 900,
            sample_rate: 44100,
            average_bpm: 124.0,
            tonality: "Am".into(),
            location: "file://localhost/m/R.flac".into(),
            grid: Some((0.4321, 124.0)),
            cues: vec![Cue { name: "Intro".into(), start_sec: 0.4321 }],
            ..Track::default()
        };
        let lists = vec![PlaylistNode::Folder {
            name: "Selecta".into(),
            children: vec![
                PlaylistNode::Playlist { name: "Picks".into(), track_ids: vec![1] },
                PlaylistNode::Playlist { name: "Picks".into(), track_ids: vec![] },
            ],
        }];
        let xml = write("1.2.3", &[track], &lists);
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="Selecta" Version="1.2.3" Company="Selecta"/>
  <COLLECTION Entries="1">
    <TRACK TrackID="1" Name="Rej &lt;Original &amp; &quot;Mix&quot;&gt;" Artist="Âme" Album="" Genre="" Kind="FLAC File" Size="1234" TotalTime="301" Year="2005" DateAdded="2026-12-05" BitRate="900" SampleRate="44100" AverageBpm="124.00" Tonality="Am" Location="file://localhost/m/R.flac">
      <TEMPO Inizio="0.432" Bpm="124.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="Intro" Type="0" Start="0.432" Num="-1"/>
    </TRACK>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT" Count="1">
      <NODE Type="0" Name="Selecta" Count="2">
        <NODE Name="Picks" Type="1" KeyType="0" Entries="1">
          <TRACK Key="1"/>
        </NODE>
        <NODE Name="Picks (2)" Type="1" KeyType="0" Entries="0">
        </NODE>
      </NODE>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>
"#;
        assert_eq!(xml, expected);
    }

    #[test]
    fn names_are_unique_per_level() {
        let names = unique_names(["A", "A", "A (2)", "", " "].into_iter());
        assert_eq!(names, ["A", "A (2)", "A (2) (2)", "Untitled", "Untitled (2)"]);
    }
}
