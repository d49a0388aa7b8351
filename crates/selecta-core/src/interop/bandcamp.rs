//! A Bandcamp CSV (a sales or purchase report, or a collection listing made by a tool) read into
//! rows of artist, title or album, genre, subgenre and tags. Columns are found by their header,
//! case and spacing ignored, under the names Bandcamp and the common tools give them (`artist`
//! or `band name`, `title` or `item name`, …); `column=field` mappings override them. A row whose
//! `item type` is `album` or `package` names an album: its `item name` is the album's title.

use std::collections::HashMap;

use super::{FormatError, line_of};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The artist (or band).
    Artist,
    /// The track title (or the item name of a sale).
    Title,
    /// The album title.
    Album,
    /// Free tags, separated by `,`, `;` or `|`.
    Tags,
    /// The genre.
    Genre,
    /// The subgenre.
    Subgenre,
    /// `track`, `album`, `package` … (sales reports).
    ItemType,
}

impl Field {
    /// `artist`, `title`, `album`, `tags`, `genre`, `subgenre` or `item_type`.
    pub fn parse(name: &str) -> Option<Field> {
        Some(match normalise_header(name).as_str() {
            "artist" => Field::Artist,
            "title" => Field::Title,
            "album" => Field::Album,
            "tags" => Field::Tags,
            "genre" => Field::Genre,
            "subgenre" => Field::Subgenre,
            "item type" | "itemtype" | "type" => Field::ItemType,
            _ => return None,
        })
    }
}

/// Header names each field is found under when no mapping names it.
const DEFAULT_HEADERS: &[(Field, &[&str])] = &[
    (Field::Artist, &["artist", "band", "band name", "artist name", "artists"]),
    (Field::Title, &["title", "track", "track title", "track name", "item name", "name", "song"]),
    (Field::Album, &["album", "album title", "album name", "release", "release title"]),
    (Field::Tags, &["tags", "tag", "keywords"]),
    (Field::Genre, &["genre", "primary genre"]),
    (Field::Subgenre, &["subgenre", "sub genre", "secondary genre"]),
    (Field::ItemType, &["item type", "type"]),
];

fn normalise_header(name: &str) -> String {
    name.trim_start_matches('\u{FEFF}')
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c.to_ascii_lowercase() })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One row of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BandcampRow {
    /// Line of the file where the row starts (1-based; the header is line 1).
    pub line: u64,
    /// Artist.
    pub artist: String,
    /// Track title (`None` for an album row).
    pub title: Option<String>,
    /// Album title.
    pub album: Option<String>,
    /// Genre.
    pub genre: Option<String>,
    /// Subgenre.
    pub subgenre: Option<String>,
    /// Tags, in order, without duplicates.
    pub tags: Vec<String>,
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Read the file. `mapping` names columns (by header) for fields, over the defaults.
pub fn read(bytes: &[u8], mapping: &[(String, Field)]) -> Result<Vec<BandcampRow>, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(bytes);
    let malformed = |e: csv::Error, bytes: &[u8]| {
        let line = match e.position() {
            Some(p) => p.line(),
            None => line_of(bytes, bytes.len()),
        };
        let reason = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8 text".to_string(),
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("{len} fields where the header has {expected_len}")
            }
            _ => e.to_string(),
        };
        FormatError::Malformed { line, reason }
    };
    let headers: Vec<String> =
        reader.headers().map_err(|e| malformed(e, bytes))?.iter().map(normalise_header).collect();
    if headers.iter().all(String::is_empty) {
        return Err(FormatError::Unexpected("the file is empty: no header row".into()));
    }
    let mut columns: HashMap<Field, usize> = HashMap::new();
    for (field, names) in DEFAULT_HEADERS {
        if let Some(i) = names.iter().find_map(|n| headers.iter().position(|h| h == n)) {
            columns.insert(*field, i);
        }
    }
    for (column, field) in mapping {
        let wanted = normalise_header(column);
        let i = headers.iter().position(|h| *h == wanted).ok_or_else(|| {
            FormatError::Unexpected(format!("no column {column:?} to map; the header has: {}", headers.join(", ")))
        })?;
        columns.insert(*field, i);
    }
    if !columns.contains_key(&Field::Artist)
        || !(columns.contains_key(&Field::Title) || columns.contains_key(&Field::Album))
    {
        return Err(FormatError::Unexpected(format!(
            "no artist and title (or album) columns; the header has: {} (name them with --map COLUMN=artist)",
            headers.join(", ")
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| malformed(e, bytes))?;
        let get = |field: Field| non_empty(columns.get(&field).and_then(|&i| record.get(i)));
        let line = record.position().map_or(0, csv::Position::line);
        let album_row =
            get(Field::ItemType).is_some_and(|t| matches!(t.to_ascii_lowercase().as_str(), "album" | "package"));
        let (title, album) = if album_row {
            // A sale of an album names the album in the title column.
            (None, get(Field::Album).or_else(|| get(Field::Title)))
        } else {
            (get(Field::Title), get(Field::Album))
        };
        let mut tags: Vec<String> = Vec::new();
        for tag in get(Field::Tags).iter().flat_map(|t| t.split([',', ';', '|'])) {
            let tag = tag.trim();
            if !tag.is_empty() && !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                tags.push(tag.to_string());
            }
        }
        rows.push(BandcampRow {
            line,
            artist: get(Field::Artist).unwrap_or_default(),
            title,
            album,
            genre: get(Field::Genre),
            subgenre: get(Field::Subgenre),
            tags,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_by_their_usual_names_and_mappings() {
        let csv = "\u{FEFF}Band Name,Item Name,Item Type,Tags,Genre\n\
                   Âme,Rej,track,\"deep house, techno; House\",Electronic\n\
                   Âme,Rej EP,album,,\n";
        let rows = read(csv.as_bytes(), &[]).expect("reads");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].artist, "Âme");
        assert_eq!(rows[0].title.as_deref(), Some("Rej"));
        assert_eq!(rows[0].tags, ["deep house", "techno", "House"]);
        assert_eq!(rows[0].genre.as_deref(), Some("Electronic"));
        assert_eq!(rows[0].line, 2);
        assert_eq!((rows[1].title.as_deref(), rows[1].album.as_deref()), (None, Some("Rej EP")), "an album row");
        let mapped = read(
            b"who,what,style\nA,B,dub\n",
            &[("who".into(), Field::Artist), ("what".into(), Field::Title), ("style".into(), Field::Genre)],
        )
        .expect("mapped");
        assert_eq!((mapped[0].artist.as_str(), mapped[0].genre.as_deref()), ("A", Some("dub")));
    }

    #[test]
    fn bad_files_name_the_line_or_the_missing_columns() {
        match read(b"artist,title\nA,B\nC,D,E\n", &[]) {
            Err(FormatError::Malformed { line, reason }) => assert_eq!((line, reason.contains("3 fields")), (3, true)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(read(b"artist,title\n\"A,B\n", &[]), Err(FormatError::Malformed { .. })), "an open quote");
        assert!(matches!(read(b"foo,bar\n1,2\n", &[]), Err(FormatError::Unexpected(_))));
        assert!(matches!(read(b"", &[]), Err(FormatError::Unexpected(_))));
        assert!(matches!(read(b"artist,title\n", &[("nope".into(), Field::Genre)]), Err(FormatError::Unexpected(_))));
        assert!(matches!(read(b"artist,title\n\xff\xfe,x\n", &[]), Err(FormatError::Malformed { line: 2, .. })));
    }
}
