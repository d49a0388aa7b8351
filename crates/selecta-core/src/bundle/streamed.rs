//! Importing a bundle read in pieces from wherever it is kept, so that a large library is never
//! held twice in memory: in the page, a 50 000-track bundle (≈ 200 MB) stays in JavaScript's
//! memory, and the module's own memory, which never shrinks, holds only the store's records
//! and a piece of the bundle at a time (decoded whole, the bundle and its decoded tracks took
//! 460 MiB of it at the peak).
//!
//! Three passes over the source: the checksum; a decode that stores nothing, which checks what
//! must be checked before anything is written (the DJ session names) and keeps the small parts;
//! then a decode that stores each track as it comes. Whole-track prints follow the tracks in
//! the layout, so a track with a print is stored again with it when the print arrives. A bundle
//! of an earlier format is read whole and imported as before.

use std::collections::HashSet;
use std::fmt;

use bincode::de::read::Reader;
use bincode::error::DecodeError;
use serde::de::{DeserializeSeed, Deserializer, Error as _, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

use super::{BUNDLE_FORMAT, BundleError, BundleRest, ImportSummary, MAGIC, WHAT, import_decoded};
use crate::error::StoreError;
use crate::record::{PathEntry, SongFeatures, UserMetadata};
use crate::sealed::{DECODE_LIMIT, SealError};
use crate::taste::{Label, SelectionManifest, TasteStore};

/// Bytes read from the source at a time.
const PIECE: usize = 1 << 20;
/// The fields of a bundle in its layout.
const FIELDS: usize = 9;

/// A bundle's bytes, read a piece at a time.
pub trait BundleSource {
    /// Its length.
    fn len(&self) -> usize;
    /// Whether it is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copy the `buf.len()` bytes from `offset` (within the length) into `buf`.
    fn read_at(&self, offset: usize, buf: &mut [u8]);
}

impl BundleSource for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_at(&self, offset: usize, buf: &mut [u8]) {
        buf.copy_from_slice(&self[offset..offset + buf.len()]);
    }
}

/// bincode's [`Reader`] over a source from an offset, a piece at a time.
struct Pieces<'a> {
    source: &'a dyn BundleSource,
    piece_len: usize,
    next: usize,
    piece: Vec<u8>,
    at: usize,
}

impl<'a> Pieces<'a> {
    fn new(source: &'a dyn BundleSource, from: usize, piece_len: usize) -> Self {
        Self { source, piece_len, next: from, piece: Vec::new(), at: 0 }
    }
}

impl Pieces<'_> {
    /// Read the next piece when the current one is used up; whether bytes are left.
    fn fill(&mut self) -> bool {
        if self.at == self.piece.len() {
            let take = self.piece_len.min(self.source.len().saturating_sub(self.next));
            self.piece.resize(take, 0);
            self.source.read_at(self.next, &mut self.piece);
            self.next += take;
            self.at = 0;
        }
        self.at < self.piece.len()
    }
}

impl Reader for Pieces<'_> {
    fn read(&mut self, bytes: &mut [u8]) -> Result<(), DecodeError> {
        let mut filled = 0;
        while filled < bytes.len() {
            if !self.fill() {
                return Err(DecodeError::UnexpectedEnd { additional: bytes.len() - filled });
            }
            let n = (bytes.len() - filled).min(self.piece.len() - self.at);
            bytes[filled..filled + n].copy_from_slice(&self.piece[self.at..self.at + n]);
            self.at += n;
            filled += n;
        }
        Ok(())
    }

    fn peek_read(&mut self, n: usize) -> Option<&[u8]> {
        self.fill();
        self.piece.get(self.at..self.at + n)
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.piece.len());
    }
}

/// [`super::import_library`] of a bundle read from `source` (see the module header).
pub fn import_library_from<S: TasteStore + ?Sized>(
    store: &mut S,
    source: &dyn BundleSource,
    now_ms: i64,
) -> Result<ImportSummary, BundleError> {
    import_in_pieces(store, source, now_ms, PIECE)
}

/// [`import_library_from`], reading `piece_len` bytes at a time.
fn import_in_pieces<S: TasteStore + ?Sized>(
    store: &mut S,
    source: &dyn BundleSource,
    now_ms: i64,
    piece_len: usize,
) -> Result<ImportSummary, BundleError> {
    let header_len = MAGIC.len() + 32;
    let mut header = vec![0u8; header_len];
    if source.len() < header_len {
        return Err(SealError::BadHeader(WHAT).into());
    }
    source.read_at(0, &mut header);
    if &header[..MAGIC.len()] != MAGIC {
        return Err(SealError::BadHeader(WHAT).into());
    }
    let mut hasher = Sha256::new();
    let mut piece = vec![0u8; piece_len];
    let mut at = header_len;
    while at < source.len() {
        let take = piece_len.min(source.len() - at);
        source.read_at(at, &mut piece[..take]);
        hasher.update(&piece[..take]);
        at += take;
    }
    drop(piece);
    if hasher.finalize().as_slice() != &header[MAGIC.len()..] {
        return Err(SealError::Checksum(WHAT).into());
    }
    let config = bincode::config::standard().with_limit::<DECODE_LIMIT>();
    let format: u32 = bincode::serde::decode_from_reader(Pieces::new(source, header_len, piece_len), config)
        .map_err(|e| SealError::Decode(WHAT, e.to_string()))?;
    if format != BUNDLE_FORMAT {
        let mut whole = vec![0u8; source.len()];
        source.read_at(0, &mut whole);
        return import_decoded(store, &whole, now_ms);
    }
    let read = |sink: Sink<'_, S>| -> Result<(usize, BundleRest), BundleError> {
        let mut pass = Pass { sink, failed: None };
        let mut decoder =
            bincode::serde::OwnedSerdeDecoder::from_reader(Pieces::new(source, header_len, piece_len), config);
        let decoded = decoder.as_deserializer().deserialize_tuple(FIELDS, &mut pass);
        if let Some(e) = pass.failed {
            return Err(e.into());
        }
        decoded.map_err(|e| SealError::Decode(WHAT, e.to_string()).into())
    };
    let (_, rest) = read(Sink::Check)?;
    rest.check()?;
    let (songs, _) = read(Sink::Store { store, now_ms, stored: HashSet::new() })?;
    rest.write(store, songs, now_ms)
}

/// What a pass does with each track and print.
enum Sink<'s, S: ?Sized> {
    /// Decode and drop.
    Check,
    /// Store (a print: onto the stored track of this bundle it belongs to).
    Store { store: &'s mut S, now_ms: i64, stored: HashSet<String> },
}

impl<S: TasteStore + ?Sized> Sink<'_, S> {
    fn song(&mut self, song: SongFeatures) -> Result<(), StoreError> {
        if let Sink::Store { store, now_ms, stored } = self {
            // Same songId, same PCM: a target embedding is kept when the bundle's track has none.
            store.put_song_features(&song, *now_ms)?;
            stored.insert(song.song_id);
        }
        Ok(())
    }

    fn print(&mut self, song_id: String, print: Vec<u32>) -> Result<(), StoreError> {
        if let Sink::Store { store, now_ms, stored } = self
            && stored.contains(&song_id)
            && let Some(mut song) = store.song_features(&song_id)?
            && let Some(c) = song.chromaprint.as_mut()
        {
            c.track = print;
            store.put_song_features(&song, *now_ms)?;
        }
        Ok(())
    }
}

/// One decode of the bundle's layout: the tracks and prints go to the sink as they come;
/// the count of tracks and the rest are returned. A store error is kept in `failed` (serde's
/// errors carry only text).
struct Pass<'s, S: ?Sized> {
    sink: Sink<'s, S>,
    failed: Option<StoreError>,
}

impl<'de, S: TasteStore + ?Sized> Visitor<'de> for &mut Pass<'_, S> {
    type Value = (usize, BundleRest);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a library bundle")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        fn field<'de, T: serde::Deserialize<'de>, A: SeqAccess<'de>>(seq: &mut A, name: &str) -> Result<T, A::Error> {
            seq.next_element()?.ok_or_else(|| A::Error::custom(format!("the bundle ends before its {name}")))
        }
        let _format: u32 = field(&mut seq, "format")?;
        let songs = seq
            .next_element_seed(Items { pass: &mut *self, item: Item::Song })?
            .ok_or_else(|| A::Error::custom("the bundle ends before its tracks"))?;
        let paths: Vec<PathEntry> = field(&mut seq, "paths")?;
        let labels: Vec<(String, Label)> = field(&mut seq, "labels")?;
        let sample_change_count: u64 = field(&mut seq, "change counter")?;
        let model: Option<(Vec<u8>, SelectionManifest)> = field(&mut seq, "model")?;
        seq.next_element_seed(Items { pass: &mut *self, item: Item::Print })?
            .ok_or_else(|| A::Error::custom("the bundle ends before its prints"))?;
        let sessions: Vec<(String, Vec<u8>)> = field(&mut seq, "sessions")?;
        let user_metadata: Vec<(String, UserMetadata)> = field(&mut seq, "brought-in metadata")?;
        Ok((songs, BundleRest { paths, labels, sample_change_count, model, sessions, user_metadata }))
    }
}

#[derive(Clone, Copy)]
enum Item {
    Song,
    Print,
}

/// The tracks or the prints, handed to the sink one at a time; their count.
struct Items<'p, 's, S: ?Sized> {
    pass: &'p mut Pass<'s, S>,
    item: Item,
}

impl<'de, S: TasteStore + ?Sized> DeserializeSeed<'de> for Items<'_, '_, S> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: TasteStore + ?Sized> Visitor<'de> for Items<'_, '_, S> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of tracks or prints")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut count = 0;
        loop {
            let handed = match self.item {
                Item::Song => match seq.next_element::<SongFeatures>()? {
                    Some(song) => self.pass.sink.song(song),
                    None => break,
                },
                Item::Print => match seq.next_element::<(String, Vec<u32>)>()? {
                    Some((id, print)) => self.pass.sink.print(id, print),
                    None => break,
                },
            };
            if let Err(e) = handed {
                self.pass.failed = Some(e);
                return Err(A::Error::custom("the store failed"));
            }
            count += 1;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::export_library;
    use crate::dj::session::Session;
    use crate::store::{MemoryStore, Store};
    use crate::taste::set_selection_labels;
    use crate::testkit::synth_library::SyntheticLibrary;

    /// A library with what a bundle carries: tracks (some with whole-track prints), paths,
    /// labels, a DJ session.
    fn library() -> (MemoryStore, Vec<String>) {
        let lib = SyntheticLibrary::new(3, 5);
        let mut store = MemoryStore::new();
        let mut ids = Vec::new();
        for i in 0..40u32 {
            let mut f = lib.track(i as usize);
            if i % 3 == 0
                && let Some(c) = f.chromaprint.as_mut()
            {
                c.raw = (0..120).map(|k| k * 31 + i).collect();
                c.track = (0..900).map(|k| k * 17 + i).collect();
            }
            store.put_song_features(&f, 1).expect("put");
            let path = format!("Crate {}/t{i} ☃.flac", i % 4);
            let entry = PathEntry {
                path_key: path.clone(),
                file_path: path,
                size: 1000,
                mtime_ms: 5,
                song_id: f.song_id.clone(),
                file_hash: f.file_hash.clone(),
            };
            store.put_path_entry(&entry, 1).expect("path");
            ids.push(f.song_id);
        }
        set_selection_labels(&mut store, &ids[..5], Label::Liked, 2).expect("label");
        let set = Session::new("late", 3).expect("session");
        store.put_dj_session(&set.name, &set.to_bytes()).expect("session");
        (store, ids)
    }

    #[test]
    fn a_bundle_read_in_pieces_imports_what_one_decoded_whole_does() {
        let (source, ids) = library();
        let bytes = export_library(&source).expect("export");
        let mut whole = MemoryStore::new();
        let want = import_decoded(&mut whole, &bytes, 9).expect("whole");
        // Pieces far smaller than a record, and one that does not divide anything evenly.
        for piece_len in [7, 4093, PIECE] {
            let mut streamed = MemoryStore::new();
            let got = import_in_pieces(&mut streamed, &bytes.as_slice(), 9, piece_len).expect("in pieces");
            assert_eq!(got, want, "pieces of {piece_len}");
            for id in &ids {
                let song = streamed.song_features(id).expect("get");
                assert_eq!(song, whole.song_features(id).expect("get"), "{id}");
                assert_eq!(song, source.song_features(id).expect("get"), "{id}");
            }
            assert!(!streamed.track_print(&ids[3]).expect("print").is_empty(), "prints arrive after the tracks");
            assert_eq!(streamed.labels().expect("labels"), whole.labels().expect("labels"));
            assert_eq!(streamed.dj_session_names().expect("names"), vec!["late".to_string()]);
            let sorted = |s: &MemoryStore| {
                let mut p = s.path_entries().expect("paths");
                p.sort_by(|a, b| a.path_key.cmp(&b.path_key));
                p
            };
            assert_eq!(sorted(&streamed), sorted(&whole));
        }
    }

    #[test]
    fn a_cut_or_damaged_bundle_is_refused_before_anything_is_written() {
        let (source, _) = library();
        let bytes = export_library(&source).expect("export");
        for bad in [&bytes[..bytes.len() - 1], &bytes[..39], &bytes[8..]] {
            let mut target = MemoryStore::new();
            let err = import_in_pieces(&mut target, &bad, 1, 64).expect_err("refused");
            assert!(matches!(err, BundleError::File(_)), "{err}");
            assert!(target.song_versions().expect("versions").is_empty());
        }
    }
}
