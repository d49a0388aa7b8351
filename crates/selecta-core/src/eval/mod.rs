//! Quality measurements against ground truth, run by `selecta eval`: tempo accuracy
//! ([`tempo`]), nearest-neighbour quality of the similarity measures ([`similarity`]) and
//! identification and search-by-audio quality on augmented snippets ([`retrieval`]). The
//! taste model's cross-validation is `taste::eval`. The CLI reads manifests and files and
//! prints; what is measured and how it is scored lives here.

pub mod retrieval;
pub mod similarity;
pub mod tempo;
pub mod weights;
