//! Browser bindings of the Selecta core (`wasm-bindgen`): the `Library` class, the same API as
//! the CLI and the N-API addon, Promise-based, over an IndexedDB-backed store. Translation
//! only: arguments, results and errors are converted here; the workflows are the core's
//! `Engine`.
//!
//! ```js
//! import init, { Library } from "./selecta_wasm.js";
//! await init();
//! const lib = await Library.open("default");            // IndexedDB "selecta:default"
//! lib.loadModel(manifestBytes, nnefBytes);                // optional: embedding + tags
//! const r = await lib.analyzeFile(bytes, "crate/a.flac", { size, mtimeMs, signal });
//! await lib.setSelectionLabels([r.songId], "liked");
//! const t = await lib.trainSelectionGbdt(pos, neg, { onProgress });
//! const p = await lib.predictSelectionCandidates(ids, 100);
//! ```
//!
//! Modules: [`idb`] (IndexedDB as a key → bytes map), [`browser_store`] (working set + journal
//! implementing the core's store traits), [`js`] (errors, options, progress), [`library`] (the
//! exported class).

pub mod browser_store;
pub mod idb;
pub mod js;
pub mod library;

pub use library::Library;
