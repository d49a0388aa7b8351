//! The endpoints: `GET /health`, `GET /tracks/{id}`, `GET /search`, `POST /identify`,
//! `POST /search_by_audio`, `POST /embed`; unknown routes, wrong methods, missing credentials
//! and malformed queries answer in the same error shape.

use std::sync::{Arc, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use selecta_core::engine::SimilarOptions;
use selecta_core::retrieval::{SearchFilters, parse_range};
use selecta_core::{Engine, ErrorCode};
use selecta_sqlite::SqliteStore;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::read_body;
use crate::{ApiError, Service};

type Shared = State<Arc<Service>>;

pub(crate) fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/tracks/{id}", get(track))
        .route("/search", get(search))
        .route("/identify", post(identify))
        .route("/search_by_audio", post(search_by_audio))
        .route("/embed", post(embed))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(Arc::clone(&service), authorize))
        .with_state(service)
}

/// Run `work` on the blocking pool (decoding, inference, SQLite and search block).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(ErrorCode::InternalError, format!("the request's task failed: {e}")))?
}

fn engine(service: &Service) -> Result<MutexGuard<'_, Engine<SqliteStore>>, ApiError> {
    service.engine.lock().map_err(|_| ApiError::new(ErrorCode::InternalError, "the engine lock is poisoned"))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// With a token configured, every request must carry it as `Authorization: Bearer <token>`.
async fn authorize(State(service): Shared, request: Request, next: Next) -> Response {
    if let Some(token) = &service.config.token {
        let given = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given.and_then(|v| v.strip_prefix("Bearer ")) != Some(token.as_str()) {
            return ApiError::new(ErrorCode::Unauthorized, "missing or wrong bearer token").into_response();
        }
    }
    next.run(request).await
}

async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no endpoint {}", uri.path()))
}

async fn wrong_method(request: Request) -> Response {
    let message = format!("{} is not allowed on {}", request.method(), request.uri().path());
    (StatusCode::METHOD_NOT_ALLOWED, ApiError::new(ErrorCode::InvalidInput, message).into_response()).into_response()
}

/// The query string as `T`, or a 400 naming what is wrong with it.
fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| ApiError::new(ErrorCode::InvalidInput, format!("malformed query: {}", e.body_text())))
}

/// Search options as query parameters: `k`, `bpm=LO-HI`, `half_double`, `key_compatible`,
/// `exclude=ID,ID`, `duration=LO-HI`, `explain`, `exact`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    track_id: Option<String>,
    k: Option<usize>,
    bpm: Option<String>,
    #[serde(default)]
    half_double: bool,
    #[serde(default)]
    key_compatible: bool,
    exclude: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    explain: bool,
    #[serde(default)]
    exact: bool,
    /// For uploads: the file name, a format hint.
    name: Option<String>,
}

impl SearchParams {
    fn options(&self) -> Result<SimilarOptions, ApiError> {
        fn range<T: std::str::FromStr + PartialOrd + Copy>(
            what: &str,
            text: &Option<String>,
        ) -> Result<Option<(T, T)>, ApiError> {
            text.as_deref()
                .map(parse_range)
                .transpose()
                .map_err(|e| ApiError::new(ErrorCode::InvalidInput, format!("{what}: {e}")))
        }
        let exclude = self
            .exclude
            .as_deref()
            .map(|e| e.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(SimilarOptions {
            k: self.k,
            explain: self.explain,
            exact: self.exact,
            filters: SearchFilters {
                bpm: range("bpm", &self.bpm)?,
                half_double: self.half_double,
                key_compatible: self.key_compatible,
                exclude,
                duration: range("duration", &self.duration)?,
            },
        })
    }
}

async fn health(State(service): Shared) -> Result<Json<Value>, ApiError> {
    let model = blocking(move || Ok(engine(&service)?.model_state())).await?;
    Ok(Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "model": model})))
}

async fn track(State(service): Shared, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let engine = engine(&service)?;
        let path = engine.path_of(&id)?;
        engine
            .song_json(&id, path.as_deref())?
            .map(Json)
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("song {id} is not in the library")))
    })
    .await
}

async fn search(State(service): Shared, uri: Uri) -> Result<Json<Value>, ApiError> {
    let params: SearchParams = query(&uri)?;
    let options = params.options()?;
    let id = params
        .track_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidInput, "give the query track as track_id=SONG_ID"))?;
    // Waiting for a slot holds no thread; the semaphore is never closed.
    let _slot = service
        .search_slots
        .acquire()
        .await
        .map_err(|e| ApiError::new(ErrorCode::InternalError, format!("no search slot: {e}")))?;
    let service = Arc::clone(&service);
    blocking(move || {
        // The lock is held only to take the snapshot: searches run side by side.
        let searcher = engine(&service)?.searcher()?;
        Ok(Json(serde_json::to_value(searcher.similar_tracks(&id, &options)?).map_err(internal)?))
    })
    .await
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::new(ErrorCode::InternalError, format!("cannot write the answer: {e}"))
}

/// Read an upload and analyse it on the blocking pool, outside the engine's lock.
async fn analysed_upload(
    service: &Arc<Service>,
    headers: &HeaderMap,
    request: Request,
    name: Option<String>,
    everything: bool,
) -> Result<selecta_core::engine::AudioQuery, ApiError> {
    let bytes = read_body(headers, request.into_body(), service.config.max_body_bytes).await?;
    let service = Arc::clone(service);
    blocking(move || Ok(service.analyzer.analyze(bytes.to_vec(), name.as_deref(), everything)?)).await
}

async fn identify(State(service): Shared, headers: HeaderMap, request: Request) -> Result<Json<Value>, ApiError> {
    let params: SearchParams = query(request.uri())?;
    let audio = analysed_upload(&service, &headers, request, params.name, false).await?;
    blocking(move || Ok(Json(serde_json::to_value(engine(&service)?.identify(&audio)?).map_err(internal)?))).await
}

async fn search_by_audio(
    State(service): Shared,
    headers: HeaderMap,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let params: SearchParams = query(request.uri())?;
    let options = params.options()?;
    let audio = analysed_upload(&service, &headers, request, params.name, true).await?;
    blocking(move || {
        let outcome = engine(&service)?.search_by_audio(&audio, &options)?;
        Ok(Json(serde_json::to_value(outcome).map_err(internal)?))
    })
    .await
}

/// `POST /embed?store=true&name=FILE`: the upload's features and embedding; stored in the
/// library (searchable, without a path) only with `store=true`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbedParams {
    #[serde(default)]
    store: bool,
    name: Option<String>,
}

async fn embed(State(service): Shared, headers: HeaderMap, request: Request) -> Result<Json<Value>, ApiError> {
    let params: EmbedParams = query(request.uri())?;
    let bytes = read_body(&headers, request.into_body(), service.config.max_body_bytes).await?;
    blocking(move || {
        // Analysed outside the engine's lock; no query fingerprints, only the features.
        let features = service.analyzer.features(bytes.to_vec(), params.name.as_deref())?;
        let mut engine = engine(&service)?;
        if params.store {
            engine.add_features(&features, now_ms())?;
        }
        let model = engine.model_state();
        Ok(Json(json!({
            "stored": params.store,
            "model": model,
            "features": engine.features_json(&features, None),
        })))
    })
    .await
}
