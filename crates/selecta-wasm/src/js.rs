//! Conversions between JS values and the core's types: typed errors (`Error` with a `code`),
//! call options (`size`, `mtimeMs`, `onProgress`, `signal`), progress and cancellation as a
//! [`JobControl`], serde values to plain JS objects, and a yield to the event loop.

use js_sys::{Function, Promise, Reflect};
use selecta_core::taste::{JobControl, Progress};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// A JS `Error` with a stable `code` (`invalid_input`, `unsupported_format`, `empty_file`,
/// `too_large`, `cancelled`, `db_error`, `internal_error`, `runtime_unavailable`).
pub fn error(code: &str, message: impl std::fmt::Display) -> JsValue {
    let e = js_sys::Error::new(&message.to_string());
    let _ = Reflect::set(&e, &"code".into(), &JsValue::from_str(code));
    e.into()
}

/// A store failure as a JS error.
pub fn db_error(e: impl std::fmt::Display) -> JsValue {
    error("db_error", e)
}

/// A serde value as a plain JS object (maps become objects).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| error("internal_error", e))
}

/// Options of a call: an object or `undefined`.
#[derive(Debug, Default)]
pub struct Options {
    value: Option<JsValue>,
}

impl Options {
    /// Wrap what JS passed.
    pub fn new(value: JsValue) -> Self {
        Self { value: (value.is_object()).then_some(value) }
    }

    fn field(&self, name: &str) -> Option<JsValue> {
        let v = Reflect::get(self.value.as_ref()?, &JsValue::from_str(name)).ok()?;
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }

    /// A number field.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.field(name).and_then(|v| v.as_f64())
    }

    /// A boolean field (absent = false).
    pub fn flag(&self, name: &str) -> bool {
        self.field(name).is_some_and(|v| v.is_truthy())
    }

    /// A string field.
    pub fn string(&self, name: &str) -> Option<String> {
        self.field(name).and_then(|v| v.as_string())
    }

    /// Progress reporting and cancellation from `onProgress` and `signal`.
    pub fn control(&self) -> JsControl {
        JsControl {
            on_progress: self.field("onProgress").and_then(|f| f.dyn_into::<Function>().ok()),
            signal: self.field("signal"),
        }
    }
}

/// [`JobControl`] over a JS callback and an `AbortSignal`. Inside one synchronous step the
/// signal cannot change (JS runs no events meanwhile); it is read between steps.
#[derive(Debug, Default)]
pub struct JsControl {
    on_progress: Option<Function>,
    signal: Option<JsValue>,
}

impl JsControl {
    /// Whether the signal has fired.
    pub fn aborted(&self) -> bool {
        self.signal.as_ref().and_then(|s| Reflect::get(s, &"aborted".into()).ok()).is_some_and(|a| a.is_truthy())
    }

    /// Report a progress value (`{phase, percent}`) to `onProgress`.
    pub fn report(&self, progress: &impl serde::Serialize) {
        if let (Some(f), Ok(v)) = (&self.on_progress, to_js(progress)) {
            let _ = f.call1(&JsValue::NULL, &v);
        }
    }
}

impl JobControl for JsControl {
    fn progress(&mut self, progress: Progress) {
        self.report(&progress);
    }

    fn is_cancelled(&self) -> bool {
        self.aborted()
    }
}

/// Let the event loop run once (a `setTimeout(0)`), so that an abort requested meanwhile is seen.
pub async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(f) = Reflect::get(&global, &"setTimeout".into()).and_then(|f| f.dyn_into::<Function>()) {
            let _ = f.call2(&global, &resolve, &JsValue::from_f64(0.0));
        } else {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}
