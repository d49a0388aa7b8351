//! Raw track vectors (embeddings, timbre statistics) as they are read from a store, kept in one
//! flat buffer per kind while the search index fits its standardisation to them.
//! Tens of thousands of small vectors scattered over the heap would stay resident after they
//! are freed (interleaved with what the index keeps); one buffer is returned whole.

/// Rows of any length (a row of another width is kept as it is), row-major.
#[derive(Debug, Clone, Default)]
pub(crate) struct RaggedColumn {
    values: Vec<f32>,
    /// Per row: where its values start and how many there are; `None` for an absent row.
    spans: Vec<Option<(usize, usize)>>,
}

impl RaggedColumn {
    /// An empty column for `rows` rows.
    pub(crate) fn with_rows(rows: usize) -> Self {
        Self { values: Vec::new(), spans: Vec::with_capacity(rows) }
    }

    /// Append a row.
    pub(crate) fn push(&mut self, row: Option<&[f32]>) {
        let span = row.map(|r| {
            if self.values.capacity() == 0 {
                // Rows of one kind share their length: one allocation for all of them.
                self.values.reserve_exact(r.len() * self.spans.capacity().max(1));
            }
            let start = self.values.len();
            self.values.extend_from_slice(r);
            (start, r.len())
        });
        self.spans.push(span);
    }

    /// The row at `i` (`None` when absent or past the end).
    pub(crate) fn get(&self, i: usize) -> Option<&[f32]> {
        let (start, len) = (*self.spans.get(i)?)?;
        self.values.get(start..start + len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed_whatever_their_length() {
        let mut column = RaggedColumn::with_rows(4);
        column.push(Some(&[1.0, 2.0]));
        column.push(None);
        column.push(Some(&[3.0, 4.0, 5.0]));
        column.push(Some(&[]));
        assert_eq!(column.get(0), Some(&[1.0, 2.0][..]));
        assert_eq!(column.get(1), None);
        assert_eq!(column.get(2), Some(&[3.0, 4.0, 5.0][..]));
        assert_eq!(column.get(3), Some(&[][..]));
        assert_eq!(column.get(4), None);
    }
}
