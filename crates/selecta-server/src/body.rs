//! Reading a request body under the service's cap: a declared length over the cap is refused
//! before a byte is read, a body that grows past it is cut off, and a body that ends before its
//! declared length (a client that lied or hung up) is an invalid request.

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use selecta_core::ErrorCode;

use crate::ApiError;

/// The whole body, at most `limit` bytes; an empty body is refused too (`empty_file`).
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::new(ErrorCode::TooLarge, format!("the request body is larger than {limit} bytes"));
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Err(e) => {
            return Err(ApiError::new(ErrorCode::InvalidInput, format!("the request body could not be read: {e}")));
        }
    };
    if bytes.is_empty() {
        return Err(ApiError::new(ErrorCode::EmptyFile, "the request body is empty: send the audio file's bytes"));
    }
    Ok(bytes)
}
