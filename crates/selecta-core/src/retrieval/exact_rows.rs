//! Where the search index finds each track's full-precision prepared rows: the z-scored unit
//! embedding, the packed timbre model, the unit tags, and the intro and outro embeddings
//! prepared like the embedding.
//!
//! - [`ExactRows::Resident`]: kept in the index in flat row-major columns (3.4 KB a track),
//!   for a store that reads its records from disk (SQLite), where a search reading a few
//!   hundred records would cost more than the whole search does now.
//! - [`ExactRows::Shared`]: prepared again from the store's own encoded record
//!   ([`crate::store::Store::shared_record`], shared, not copied) whenever a search needs a
//!   track's rows, for a store that keeps its records in memory (the browser's, an in-memory
//!   library). The index keeps a pointer per track, which parts the track has, and an 8-bit
//!   copy of its intro, instead of copies of what the store already holds: at 50 000 tracks,
//!   170 MiB less in a browser tab. A search prepares only the tracks its bounds cannot rule
//!   out (a few hundred at 50 000 tracks); the next-track ranking only the intros the 8-bit
//!   copies cannot place.
//!
//! Both give the same rows bit for bit: the same preparation of the same stored values, and
//! the same rule for a row whose width differs from the first present one (absent).

use std::borrow::Cow;
use std::sync::Arc;

use super::coarse::{CoarseColumn, CoarseQuery};
use super::prefetch;
use crate::record_views::RecordViews;
use crate::similar::{PreparedRef, PreparedView, Similarity, TrackViewRef};

/// One view of every track, in one flat row-major matrix: a search streams it from memory
/// once, and scattered per-track allocations would cost cache misses on every row.
#[derive(Debug, Clone, Default)]
pub(super) struct ViewColumn {
    /// Row length (0 until the first track that has this view).
    pub(super) width: usize,
    values: Vec<f32>,
    present: Presence,
    /// Rows expected in all: the matrix is allocated once at its final size, since growing it
    /// by doubling would hold up to half as much again, and both copies while it moves.
    expected_rows: usize,
}

impl ViewColumn {
    pub(super) fn with_capacity(rows: usize) -> Self {
        Self { expected_rows: rows, present: Presence::with_capacity(rows), ..Self::default() }
    }

    pub(super) fn push(&mut self, row: Option<&[f32]>) {
        if self.width == 0
            && let Some(r) = row
        {
            // Rows before the first present one are all absent; give them their zeros.
            self.width = r.len();
            self.values.reserve_exact(self.expected_rows.max(self.present.len() + 1) * self.width);
            self.values.resize(self.present.len() * self.width, 0.0);
        }
        if self.present.push(row) {
            self.values.extend_from_slice(row.unwrap_or_default());
        } else {
            self.values.resize(self.values.len() + self.width, 0.0);
        }
    }

    pub(super) fn row(&self, i: usize) -> Option<&[f32]> {
        if self.present.get(i) { self.values.get(i * self.width..(i + 1) * self.width) } else { None }
    }
}

/// Which tracks have a part, by the rule of a [`ViewColumn`]: a row counts when its width is
/// that of the first present row.
#[derive(Debug, Clone, Default)]
struct Presence {
    width: usize,
    present: Vec<bool>,
}

impl Presence {
    fn with_capacity(rows: usize) -> Self {
        Self { width: 0, present: Vec::with_capacity(rows) }
    }

    /// Record the next track's row; whether it counts.
    fn push(&mut self, row: Option<&[f32]>) -> bool {
        if self.width == 0
            && let Some(r) = row
        {
            self.width = r.len();
        }
        let counts = row.is_some_and(|r| r.len() == self.width && self.width > 0);
        self.present.push(counts);
        counts
    }

    fn get(&self, i: usize) -> bool {
        self.present.get(i).copied().unwrap_or(false)
    }

    fn len(&self) -> usize {
        self.present.len()
    }
}

/// The prepared views of every track, one [`ViewColumn`] per view.
#[derive(Debug, Clone, Default)]
pub(super) struct ViewMatrix {
    pub(super) embedding: ViewColumn,
    pub(super) timbre: ViewColumn,
    pub(super) tags: ViewColumn,
}

impl ViewMatrix {
    fn with_capacity(rows: usize) -> Self {
        Self {
            embedding: ViewColumn::with_capacity(rows),
            timbre: ViewColumn::with_capacity(rows),
            tags: ViewColumn::with_capacity(rows),
        }
    }

    fn push(&mut self, view: &PreparedView) {
        self.embedding.push(view.embedding.as_deref());
        self.timbre.push(view.timbre.as_deref());
        self.tags.push(view.tags.as_deref());
    }

    pub(super) fn row(&self, i: usize) -> PreparedRef<'_> {
        PreparedRef { embedding: self.embedding.row(i), timbre: self.timbre.row(i), tags: self.tags.row(i) }
    }
}

/// A track's prepared rows: borrowed from the index, or prepared from its record.
pub(super) enum Row<'a> {
    Borrowed(PreparedRef<'a>),
    Prepared(PreparedView),
}

impl Row<'_> {
    pub(super) fn get(&self) -> PreparedRef<'_> {
        match self {
            Row::Borrowed(r) => *r,
            Row::Prepared(v) => v.into(),
        }
    }
}

/// A track's rows for a search, which may not need its timbre model: borrowed from the index,
/// or decoded from its record with the timbre model left for [`LazyRow::timbre`] (packing it
/// costs six times what the embedding and tags together do).
pub(super) enum LazyRow<'a> {
    Borrowed(PreparedRef<'a>),
    Decoded { features: Box<RecordViews>, embedding: Option<Vec<f32>>, tags: Option<Vec<f32>>, has_timbre: bool },
}

impl LazyRow<'_> {
    /// The embedding and tags (no timbre model when decoded).
    pub(super) fn cheap(&self) -> PreparedRef<'_> {
        match self {
            LazyRow::Borrowed(r) => *r,
            LazyRow::Decoded { embedding, tags, .. } => {
                PreparedRef { embedding: embedding.as_deref(), timbre: None, tags: tags.as_deref() }
            }
        }
    }

    /// The packed timbre model.
    pub(super) fn timbre(&self, similarity: &Similarity) -> Option<Cow<'_, [f32]>> {
        match self {
            LazyRow::Borrowed(r) => r.timbre.map(Cow::Borrowed),
            LazyRow::Decoded { features, has_timbre, .. } => {
                let timbre = features.timbre.as_deref().filter(|_| *has_timbre);
                similarity.prepare_ref(TrackViewRef { embedding: None, timbre, tags: None }).timbre.map(Cow::Owned)
            }
        }
    }
}

/// The shared form ([`ExactRows::Shared`]).
#[derive(Debug, Clone, Default)]
pub(super) struct SharedRows {
    records: Vec<Option<Arc<[u8]>>>,
    embedding: Presence,
    timbre: Presence,
    tags: Presence,
    intro: Presence,
    outro: Presence,
    /// 8-bit copies of the prepared intros (the embedding where a track has none).
    intro_codes: CoarseColumn,
}

impl SharedRows {
    /// Track `i`'s views, with its intro and outro when `transitions`.
    fn features(&self, i: usize, transitions: bool) -> Option<RecordViews> {
        let bytes = self.records.get(i)?.as_deref()?;
        // The bytes were decoded when the index was built and cannot have changed since.
        if transitions { RecordViews::from_bytes(bytes) } else { RecordViews::without_transitions(bytes) }.ok()
    }

    fn prepared(&self, i: usize, similarity: &Similarity) -> PreparedView {
        let Some(features) = self.features(i, false) else { return PreparedView::default() };
        let view = similarity.prepare_ref(view_ref(&features));
        PreparedView {
            embedding: view.embedding.filter(|_| self.embedding.get(i)),
            timbre: view.timbre.filter(|_| self.timbre.get(i)),
            tags: view.tags.filter(|_| self.tags.get(i)),
        }
    }

    /// The prepared intro (`outro: false`) or outro of track `i`, the embedding where it has
    /// none.
    fn transition(&self, i: usize, outro: bool, similarity: &Similarity) -> Option<Vec<f32>> {
        let features = self.features(i, true)?;
        let own = features.embedding.as_ref().and_then(|e| if outro { e.outro.as_deref() } else { e.intro.as_deref() });
        let presence = if outro { &self.outro } else { &self.intro };
        if presence.get(i) {
            prepare_embedding(similarity, own)
        } else if self.embedding.get(i) {
            similarity.prepare_ref(view_ref(&features)).embedding
        } else {
            None
        }
    }
}

/// The similarity's view of a record's views ([`super::track_view_ref`] of the whole record).
pub(super) fn view_ref(views: &RecordViews) -> TrackViewRef<'_> {
    TrackViewRef {
        embedding: views.embedding.as_ref().map(|e| e.vector.as_slice()),
        timbre: views.timbre.as_deref(),
        tags: views.embedding.as_ref().map(|e| e.tags.as_slice()).filter(|t| !t.is_empty()),
    }
}

/// An intro or outro embedding prepared like the track embedding.
fn prepare_embedding(similarity: &Similarity, v: Option<&[f32]>) -> Option<Vec<f32>> {
    v.and_then(|v| similarity.prepare_ref(TrackViewRef { embedding: Some(v), timbre: None, tags: None }).embedding)
}

/// Where the index finds each track's full-precision rows (see the module header).
#[derive(Debug, Clone)]
pub(super) enum ExactRows {
    Resident { views: ViewMatrix, intro: ViewColumn, outro: ViewColumn },
    Shared(SharedRows),
}

impl Default for ExactRows {
    fn default() -> Self {
        Self::Resident { views: ViewMatrix::default(), intro: ViewColumn::default(), outro: ViewColumn::default() }
    }
}

impl ExactRows {
    /// Empty rows for `rows` tracks, in the shared form when `shared`.
    pub(super) fn with_capacity(rows: usize, shared: bool) -> Self {
        if shared {
            Self::Shared(SharedRows {
                records: Vec::with_capacity(rows),
                embedding: Presence::with_capacity(rows),
                timbre: Presence::with_capacity(rows),
                tags: Presence::with_capacity(rows),
                intro: Presence::with_capacity(rows),
                outro: Presence::with_capacity(rows),
                intro_codes: CoarseColumn::with_capacity(rows),
            })
        } else {
            Self::Resident {
                views: ViewMatrix::with_capacity(rows),
                intro: ViewColumn::with_capacity(rows),
                outro: ViewColumn::with_capacity(rows),
            }
        }
    }

    /// The next track: its prepared view, intro and outro, and (shared form) its record.
    pub(super) fn push(
        &mut self,
        view: &PreparedView,
        intro: Option<&[f32]>,
        outro: Option<&[f32]>,
        record: Option<Arc<[u8]>>,
        similarity: &Similarity,
    ) {
        let intro = prepare_embedding(similarity, intro);
        let outro = prepare_embedding(similarity, outro);
        match self {
            Self::Resident { views, intro: i, outro: o } => {
                views.push(view);
                i.push(intro.as_deref());
                o.push(outro.as_deref());
            }
            Self::Shared(rows) => {
                rows.records.push(record);
                let has_embedding = rows.embedding.push(view.embedding.as_deref());
                rows.timbre.push(view.timbre.as_deref());
                rows.tags.push(view.tags.as_deref());
                let intro_row = if rows.intro.push(intro.as_deref()) {
                    intro.as_deref()
                } else {
                    view.embedding.as_deref().filter(|_| has_embedding)
                };
                rows.intro_codes.push(intro_row);
                rows.outro.push(outro.as_deref());
            }
        }
    }

    /// Tracks pushed.
    pub(super) fn len(&self) -> usize {
        match self {
            Self::Resident { views, .. } => views.embedding.present.len(),
            Self::Shared(rows) => rows.records.len(),
        }
    }

    /// The prepared rows of track `i`.
    pub(super) fn row(&self, i: usize, similarity: &Similarity) -> Row<'_> {
        match self {
            Self::Resident { views, .. } => Row::Borrowed(views.row(i)),
            Self::Shared(rows) => Row::Prepared(rows.prepared(i, similarity)),
        }
    }

    /// The rows of track `i` for a search ([`LazyRow`]).
    pub(super) fn lazy_row(&self, i: usize, similarity: &Similarity) -> LazyRow<'_> {
        match self {
            Self::Resident { views, .. } => LazyRow::Borrowed(views.row(i)),
            Self::Shared(rows) => {
                let Some(features) = rows.features(i, false) else {
                    return LazyRow::Borrowed(PreparedRef::default());
                };
                let cheap = similarity.prepare_ref(TrackViewRef { timbre: None, ..view_ref(&features) });
                LazyRow::Decoded {
                    embedding: cheap.embedding.filter(|_| rows.embedding.get(i)),
                    tags: cheap.tags.filter(|_| rows.tags.get(i)),
                    has_timbre: rows.timbre.get(i),
                    features: Box::new(features),
                }
            }
        }
    }

    /// The prepared view of track `i`, owned.
    pub(super) fn view(&self, i: usize, similarity: &Similarity) -> PreparedView {
        match self.row(i, similarity) {
            Row::Borrowed(r) => PreparedView {
                embedding: r.embedding.map(<[f32]>::to_vec),
                timbre: r.timbre.map(<[f32]>::to_vec),
                tags: r.tags.map(<[f32]>::to_vec),
            },
            Row::Prepared(v) => v,
        }
    }

    /// `view` as the rows keep track `i`'s: a part they do not count (absent, or of another
    /// width) dropped.
    pub(super) fn as_kept(&self, i: usize, view: PreparedView) -> PreparedView {
        let counts = |part: usize| match self {
            Self::Resident { views, .. } => [&views.embedding, &views.timbre, &views.tags][part].present.get(i),
            Self::Shared(rows) => [&rows.embedding, &rows.timbre, &rows.tags][part].get(i),
        };
        PreparedView {
            embedding: view.embedding.filter(|_| counts(0)),
            timbre: view.timbre.filter(|_| counts(1)),
            tags: view.tags.filter(|_| counts(2)),
        }
    }

    /// Whether track `i` has a timbre row.
    pub(super) fn has_timbre(&self, i: usize) -> bool {
        match self {
            Self::Resident { views, .. } => views.timbre.present.get(i),
            Self::Shared(rows) => rows.timbre.get(i),
        }
    }

    /// The width of the embedding and tag rows (0 when no track has them).
    pub(super) fn widths(&self) -> (usize, usize) {
        match self {
            Self::Resident { views, .. } => (views.embedding.width, views.tags.width),
            Self::Shared(rows) => (rows.embedding.width, rows.tags.width),
        }
    }

    /// The prepared track embedding of track `i`.
    pub(super) fn embedding(&self, i: usize, similarity: &Similarity) -> Option<Cow<'_, [f32]>> {
        match self {
            Self::Resident { views, .. } => views.embedding.row(i).map(Cow::Borrowed),
            Self::Shared(rows) => rows.prepared(i, similarity).embedding.map(Cow::Owned),
        }
    }

    /// The prepared intro (`outro: false`) or outro of track `i`, its embedding where it has
    /// none.
    pub(super) fn transition(&self, i: usize, outro: bool, similarity: &Similarity) -> Option<Cow<'_, [f32]>> {
        match self {
            Self::Resident { views, intro, outro: o } => {
                let column = if outro { o } else { intro };
                column.row(i).or_else(|| views.embedding.row(i)).map(Cow::Borrowed)
            }
            Self::Shared(rows) => rows.transition(i, outro, similarity).map(Cow::Owned),
        }
    }

    /// The 8-bit intro codes and a query for them (shared form only; `None` where the
    /// query's width differs, and then every intro is read exactly).
    pub(super) fn intro_codes(&self, outro: &[f32]) -> Option<(&CoarseColumn, CoarseQuery)> {
        match self {
            Self::Resident { .. } => None,
            Self::Shared(rows) => rows.intro_codes.query(outro).map(|q| (&rows.intro_codes, q)),
        }
    }

    /// Ask for track `i`'s rows from memory ahead of reading them (resident form).
    pub(super) fn prefetch(&self, i: usize) {
        if let Self::Resident { views, .. } = self {
            let view = views.row(i);
            [view.embedding, view.timbre, view.tags].into_iter().flatten().for_each(prefetch::prefetch_slice);
        }
    }
}
