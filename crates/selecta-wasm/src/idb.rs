//! IndexedDB as a key → bytes map, through `js_sys::Reflect` (it works the same in a window
//! and in a worker, and needs no web-sys feature list): open, read everything chunk by chunk, and apply a batch
//! of writes in one read-write transaction that resolves only when the transaction has
//! committed (`durability: "strict"`), so a write is on disk before the caller's Promise
//! resolves.

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

const STORE: &str = "kv";

/// Gives the value of an [`Op::PutEncodedLater`] key as the batch is written (`None`: nothing
/// to write for it).
pub type EncodeLater<'a> = &'a dyn Fn(&str) -> Result<Option<Vec<u8>>, JsValue>;

/// One write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Insert or replace a key.
    Put(String, Vec<u8>),
    /// Insert or replace a key whose value is encoded only as the batch is written, one at a
    /// time (see [`Db::apply`]): a large import's records, all encoded at once, would be held a
    /// second time beside the working set.
    PutEncodedLater(String),
    /// Delete a key.
    Delete(String),
    /// Delete every key in `[from, to)`.
    DeleteRange(String, String),
}

fn get(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(name))
}

fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = get(target, name)?.dyn_into()?;
    f.apply(target, &args.iter().collect::<Array>())
}

/// A Promise settled by an IDB request's `success` / `error` events.
fn request(req: JsValue) -> JsFuture {
    let promise = Promise::new(&mut |resolve, reject| {
        let on_ok = req.clone();
        let ok = Closure::once_into_js(move |_: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &get(&on_ok, "result").unwrap_or(JsValue::UNDEFINED));
        });
        let on_err = req.clone();
        let err = Closure::once_into_js(move |_: JsValue| {
            let _ = reject.call1(&JsValue::NULL, &get(&on_err, "error").unwrap_or(JsValue::UNDEFINED));
        });
        let _ = Reflect::set(&req, &"onsuccess".into(), &ok);
        let _ = Reflect::set(&req, &"onerror".into(), &err);
    });
    JsFuture::from(promise)
}

/// A Promise settled when a transaction completes, aborts or fails.
fn completion(tx: &JsValue) -> JsFuture {
    let promise = Promise::new(&mut |resolve, reject| {
        let done = Closure::once_into_js(move |_: JsValue| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let on_fail = tx.clone();
        let reject_abort = reject.clone();
        let fail = Closure::once_into_js(move |_: JsValue| {
            let _ = reject.call1(&JsValue::NULL, &get(&on_fail, "error").unwrap_or(JsValue::UNDEFINED));
        });
        let abort = Closure::once_into_js(move |_: JsValue| {
            let _ = reject_abort.call1(&JsValue::NULL, &JsValue::from_str("transaction aborted"));
        });
        let _ = Reflect::set(tx, &"oncomplete".into(), &done);
        let _ = Reflect::set(tx, &"onerror".into(), &fail);
        let _ = Reflect::set(tx, &"onabort".into(), &abort);
    });
    JsFuture::from(promise)
}

/// An open database.
#[derive(Debug, Clone)]
pub struct Db {
    db: JsValue,
}

impl Db {
    /// Open (creating) the database `name`.
    pub async fn open(name: &str) -> Result<Db, JsValue> {
        let factory = get(&js_sys::global(), "indexedDB")?;
        if factory.is_undefined() || factory.is_null() {
            return Err(JsValue::from_str("IndexedDB is not available here"));
        }
        let req = call(&factory, "open", &[JsValue::from_str(name), JsValue::from_f64(1.0)])?;
        let on_upgrade = req.clone();
        let upgrade = Closure::once_into_js(move |_: JsValue| {
            if let Ok(db) = get(&on_upgrade, "result") {
                let names = get(&db, "objectStoreNames").ok();
                let exists = names.and_then(|n| call(&n, "contains", &[JsValue::from_str(STORE)]).ok());
                if !exists.is_some_and(|e| e.is_truthy()) {
                    let _ = call(&db, "createObjectStore", &[JsValue::from_str(STORE)]);
                }
            }
        });
        Reflect::set(&req, &"onupgradeneeded".into(), &upgrade)?;
        let db = request(req).await?;
        Ok(Db { db })
    }

    fn transaction(&self, mode: &str) -> Result<(JsValue, JsValue), JsValue> {
        let options = Object::new();
        Reflect::set(&options, &"durability".into(), &"strict".into())?;
        let tx = call(&self.db, "transaction", &[JsValue::from_str(STORE), JsValue::from_str(mode), options.into()])?;
        let store = call(&tx, "objectStore", &[JsValue::from_str(STORE)])?;
        Ok((tx, store))
    }

    /// Every key with its bytes, in key order, handed to `on_chunk` `chunk` entries at a time,
    /// all from one read-only transaction (one snapshot). Only one chunk is held at a time, on
    /// the JS side and in the module's memory: reading a large library all at once held its
    /// whole database twice beside the working set it was decoded into.
    pub async fn read_in_chunks(
        &self,
        chunk: u32,
        mut on_chunk: impl FnMut(Vec<(String, Vec<u8>)>) -> Result<(), JsValue>,
    ) -> Result<(), JsValue> {
        let (_tx, store) = self.transaction("readonly")?;
        let key_range = get(&js_sys::global(), "IDBKeyRange")?;
        let mut after: Option<JsValue> = None;
        loop {
            let range = match &after {
                Some(key) => call(&key_range, "lowerBound", &[key.clone(), JsValue::TRUE])?,
                None => JsValue::UNDEFINED,
            };
            // Both requests are issued before awaiting either, and the next pair from the
            // continuation of their success (a microtask): the transaction stays active.
            let count = JsValue::from_f64(f64::from(chunk));
            let keys = request(call(&store, "getAllKeys", &[range.clone(), count.clone()])?);
            let values = request(call(&store, "getAll", &[range, count])?);
            let keys: Array = keys.await?.dyn_into()?;
            let values: Array = values.await?.dyn_into()?;
            let n = keys.length();
            let mut out = Vec::with_capacity(n as usize);
            for (k, v) in keys.iter().zip(values.iter()) {
                if let (Some(k), Ok(v)) = (k.as_string(), v.dyn_into::<Uint8Array>()) {
                    out.push((k, v.to_vec()));
                }
            }
            on_chunk(out)?;
            if n < chunk {
                return Ok(());
            }
            after = Some(keys.get(n - 1));
        }
    }

    /// Apply a batch in one transaction; resolves once it has committed.
    pub async fn apply(&self, ops: &[Op], encode: EncodeLater<'_>) -> Result<(), JsValue> {
        if ops.is_empty() {
            return Ok(());
        }
        let (tx, store) = self.transaction("readwrite")?;
        // A request refused part-way (quota, a closing connection) must not let the requests
        // already made commit on their own: the whole journal is written or none of it.
        if let Err(e) = Self::request_all(&store, ops, encode) {
            let _ = call(&tx, "abort", &[]);
            return Err(e);
        }
        completion(&tx).await.map(|_| ())
    }

    /// Make the requests of `ops` on `store` (inside its transaction).
    fn request_all(store: &JsValue, ops: &[Op], encode: EncodeLater<'_>) -> Result<(), JsValue> {
        let key_range = get(&js_sys::global(), "IDBKeyRange")?;
        let put =
            |key: &str, value: &[u8]| call(store, "put", &[Uint8Array::from(value).into(), JsValue::from_str(key)]);
        for op in ops {
            match op {
                Op::Put(key, value) => {
                    put(key, value)?;
                }
                Op::PutEncodedLater(key) => {
                    if let Some(value) = encode(key)? {
                        put(key, &value)?;
                    }
                }
                Op::Delete(key) => {
                    call(store, "delete", &[JsValue::from_str(key)])?;
                }
                Op::DeleteRange(from, to) => {
                    let range = call(
                        &key_range,
                        "bound",
                        &[JsValue::from_str(from), JsValue::from_str(to), JsValue::FALSE, JsValue::TRUE],
                    )?;
                    call(store, "delete", &[range])?;
                }
            }
        }
        Ok(())
    }

    /// Delete the whole database `name` (tests and "start over").
    pub async fn delete(name: &str) -> Result<(), JsValue> {
        let factory = get(&js_sys::global(), "indexedDB")?;
        request(call(&factory, "deleteDatabase", &[JsValue::from_str(name)])?).await.map(|_| ())
    }

    /// Close the connection.
    pub fn close(&self) {
        let _ = call(&self.db, "close", &[]);
    }
}
