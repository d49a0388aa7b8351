//! TF-IDF text similarity of track metadata (title, album, genre, comment words): the document
//! frequencies come from the training samples and are saved with the model, so a model scores
//! the same text the same way later. Hand-written because it is twenty lines over the
//! tokeniser in [`super::profile`]; a search-engine crate would bring far more than it needs.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Inverse document frequencies (smoothed, as scikit-learn: `ln((1+n)/(1+df)) + 1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Idf {
    docs: u32,
    df: BTreeMap<String, u32>,
}

/// A sparse L2-normalised TF-IDF vector, sorted by term.
pub type TextVector = Vec<(String, f32)>;

impl Idf {
    /// Document frequencies of a collection (each document is a word list).
    pub fn fit<'a>(documents: impl IntoIterator<Item = &'a [String]>) -> Self {
        let mut idf = Idf::default();
        for doc in documents {
            idf.docs += 1;
            let mut terms: Vec<&String> = doc.iter().collect();
            terms.sort();
            terms.dedup();
            for t in terms {
                *idf.df.entry(t.clone()).or_default() += 1;
            }
        }
        idf
    }

    fn weight(&self, term: &str) -> f32 {
        let df = self.df.get(term).copied().unwrap_or(0);
        ((1.0 + self.docs as f32) / (1.0 + df as f32)).ln() + 1.0
    }

    /// The TF-IDF vector of a document; empty for a document without words. Terms are summed
    /// in sorted order so that the result is bit-identical on every run and target.
    pub fn vector(&self, words: &[String]) -> TextVector {
        let mut tf: BTreeMap<&str, f32> = BTreeMap::new();
        for w in words {
            *tf.entry(w.as_str()).or_default() += 1.0;
        }
        let mut v: TextVector = tf.into_iter().map(|(t, n)| (t.to_string(), n * self.weight(t))).collect();
        let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, x)| *x /= norm);
        }
        v
    }
}

/// An inverted index over a set of documents, for the best cosine of a query against them.
#[derive(Debug, Clone, Default)]
pub struct TextIndex {
    postings: HashMap<String, Vec<(usize, f32)>>,
    docs: usize,
    doc_slots: usize,
}

/// Reusable work space of [`TextIndex::max_cosine`].
#[derive(Debug, Clone, Default)]
pub struct TextScratch {
    sums: Vec<f32>,
    touched: Vec<usize>,
}

impl TextIndex {
    /// Index the non-empty vectors; document numbers are positions in `vectors`.
    pub fn new(vectors: &[TextVector]) -> Self {
        let mut postings: HashMap<String, Vec<(usize, f32)>> = HashMap::new();
        for (doc, v) in vectors.iter().enumerate() {
            for (t, w) in v {
                postings.entry(t.clone()).or_default().push((doc, *w));
            }
        }
        Self { postings, docs: vectors.iter().filter(|v| !v.is_empty()).count(), doc_slots: vectors.len() }
    }

    /// Whether any indexed document has words.
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// Highest cosine similarity of `query` to any indexed document (0 when none shares a word).
    /// `scratch` is reused between calls (a dense accumulator: this runs once per candidate).
    pub fn max_cosine(&self, query: &TextVector, scratch: &mut TextScratch) -> f32 {
        scratch.sums.resize(self.doc_slots, 0.0);
        for (t, w) in query {
            if let Some(list) = self.postings.get(t) {
                for (doc, dw) in list {
                    if scratch.sums[*doc] == 0.0 {
                        scratch.touched.push(*doc);
                    }
                    scratch.sums[*doc] += w * dw;
                }
            }
        }
        let mut best = 0.0f32;
        for doc in scratch.touched.drain(..) {
            best = best.max(scratch.sums[doc]);
            scratch.sums[doc] = 0.0;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn shared_rare_words_score_higher_than_common_ones() {
        let docs = [doc("the night drive"), doc("the morning"), doc("the evening"), doc("night club")];
        let idf = Idf::fit(docs.iter().map(|d| d.as_slice()));
        let vectors: Vec<TextVector> = docs.iter().map(|d| idf.vector(d)).collect();
        let index = TextIndex::new(&vectors[1..3]);
        let mut scratch = TextScratch::default();
        let common = index.max_cosine(&idf.vector(&doc("the drive")), &mut scratch);
        let index_night = TextIndex::new(&vectors[3..]);
        let rare = index_night.max_cosine(&idf.vector(&doc("night drive")), &mut scratch);
        assert!(rare > common, "rare {rare} common {common}");
        let same = TextIndex::new(&vectors[..1]).max_cosine(&vectors[0], &mut scratch);
        assert!((same - 1.0).abs() < 1e-5);
        assert_eq!(index.max_cosine(&idf.vector(&doc("unrelated")), &mut scratch), 0.0);
    }
}
