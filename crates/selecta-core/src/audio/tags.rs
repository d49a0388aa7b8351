//! The file tags Selecta uses as metadata features: title, artist, album, genre, year, comment.

use serde::{Deserialize, Serialize};
use symphonia::core::meta::{MetadataRevision, RawValue, StandardTag};

/// Tags read from the file. Every field is optional: many files carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tags {
    /// Track title.
    pub title: Option<String>,
    /// Track artist (falls back to the album artist).
    pub artist: Option<String>,
    /// Album.
    pub album: Option<String>,
    /// Genre as written in the file.
    pub genre: Option<String>,
    /// Release or recording year.
    pub year: Option<i32>,
    /// Free-text comment.
    pub comment: Option<String>,
}

impl Tags {
    /// Merge one metadata revision; later revisions win, empty strings are ignored.
    pub(crate) fn absorb(&mut self, rev: &MetadataRevision) {
        let mut album_artist = None;
        let mut description = None;
        let all = rev.media.tags.iter().chain(rev.per_track.iter().flat_map(|t| t.metadata.tags.iter()));
        let mut unmapped_album = None;
        let mut unmapped_year = None;
        for tag in all {
            let Some(std) = &tag.std else {
                // ffmpeg writes Matroska/WebM tags under Vorbis-comment names (ALBUM, DATE) that
                // symphonia's Matroska reader does not map; an unmapped tag of that name, in any
                // format, counts only where no mapped tag names the field.
                if let RawValue::String(value) = &tag.raw.value {
                    // A Matroska key names its target first ("TRACK@ALBUM").
                    let name = tag.raw.key.rsplit('@').next().unwrap_or_default();
                    match name.to_ascii_uppercase().as_str() {
                        "ALBUM" if !value.trim().is_empty() => unmapped_album = Some(value.to_string()),
                        "DATE" | "YEAR" => unmapped_year = parse_year(value).or(unmapped_year),
                        _ => {}
                    }
                }
                continue;
            };
            match std {
                StandardTag::TrackTitle(v) => set(&mut self.title, v),
                StandardTag::Artist(v) => set(&mut self.artist, v),
                StandardTag::AlbumArtist(v) => album_artist = Some(v.to_string()),
                StandardTag::Album(v) => set(&mut self.album, v),
                StandardTag::Genre(v) => set(&mut self.genre, v),
                StandardTag::Comment(v) => set(&mut self.comment, v),
                // Vorbis comments and FLAC often carry the comment as DESCRIPTION.
                StandardTag::Description(v) => description = Some(v.to_string()),
                StandardTag::ReleaseYear(y) | StandardTag::RecordingYear(y) => {
                    self.year = Some(i32::from(*y));
                }
                StandardTag::ReleaseDate(v) | StandardTag::RecordingDate(v) => {
                    if let Some(y) = parse_year(v) {
                        self.year = Some(y);
                    }
                }
                _ => {}
            }
        }
        if self.album.is_none()
            && let Some(album) = unmapped_album
        {
            set(&mut self.album, &album);
        }
        if self.year.is_none() {
            self.year = unmapped_year;
        }
        if self.comment.is_none()
            && let Some(d) = description
        {
            set(&mut self.comment, &d);
        }
        if self.artist.is_none()
            && let Some(a) = album_artist.filter(|a| !a.trim().is_empty())
        {
            self.artist = Some(a.trim().to_string());
        }
    }
}

fn set(slot: &mut Option<String>, value: &str) {
    let v = value.trim().trim_matches('\0').trim();
    if !v.is_empty() {
        *slot = Some(v.to_string());
    }
}

/// First run of four digits in a date string ("2019-04-01", "2019").
fn parse_year(date: &str) -> Option<i32> {
    let digits: Vec<char> = date.chars().collect();
    digits.windows(4).find(|w| w.iter().all(char::is_ascii_digit)).and_then(|w| {
        let s: String = w.iter().collect();
        s.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::parse_year;

    #[test]
    fn years_from_dates() {
        assert_eq!(parse_year("2019-04-01"), Some(2019));
        assert_eq!(parse_year("1987"), Some(1987));
        assert_eq!(parse_year("unknown"), None);
    }
}
