//! Conversions between JS values and the core's types: typed errors (`Error` with a `code`),
//! call options (`size`, `mtimeMs`, `onProgress`, `signal`), progress and cancellation as a
//! [`JobControl`], serde values to plain JS objects, and a yield to the event loop.

use js_sys::{Function, Promise, Reflect};
use selecta_core::control::{JobControl, Progress};
use selecta_core::{EngineError, ErrorCode};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// An engine error as a JS `Error` with its stable `code`.
pub fn js_error(e: EngineError) -> JsValue {
    let error = js_sys::Error::new(&e.message);
    let _ = Reflect::set(&error, &"code".into(), &JsValue::from_str(e.code.as_str()));
    error.into()
}

/// An IndexedDB failure (a JS exception or a rejected request) as a `db_error`.
pub fn idb_error(e: JsValue) -> JsValue {
    let message = e
        .as_string()
        .or_else(|| Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "IndexedDB failed".into());
    js_error(EngineError::new(ErrorCode::DbError, message))
}

/// A serde value as a plain JS object (maps become objects).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(EngineError::new(ErrorCode::InternalError, e)))
}

/// A JS value as JSON (`undefined` as `null`), for options the engine parses itself.
pub fn from_js(value: JsValue) -> Result<serde_json::Value, EngineError> {
    if value.is_undefined() || value.is_null() {
        return Ok(serde_json::Value::Null);
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| EngineError::invalid_input(format!("options: {e}")))
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

impl JobControl for JsControl {
    /// Report `{phase, percent}` to `onProgress`.
    fn progress(&mut self, progress: Progress) {
        if let (Some(f), Ok(v)) = (&self.on_progress, to_js(&progress)) {
            let _ = f.call1(&JsValue::NULL, &v);
        }
    }

    /// Whether the signal has fired.
    fn is_cancelled(&self) -> bool {
        self.signal.as_ref().and_then(|s| Reflect::get(s, &"aborted".into()).ok()).is_some_and(|a| a.is_truthy())
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
