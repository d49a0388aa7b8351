//! Errors as the service answers them: `{"error": {"code", "message"}}` with the engine's codes
//! and the HTTP status that fits each.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use selecta_core::{EngineError, ErrorCode};

/// An engine error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub EngineError);

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        Self(EngineError::new(code, message))
    }

    /// The HTTP status of the error's code.
    pub fn status(&self) -> StatusCode {
        match self.0.code {
            ErrorCode::InvalidInput | ErrorCode::EmptyFile => StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedFormat => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Cancelled | ErrorCode::RuntimeUnavailable | ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
            // Unknown future codes are the server's problem until mapped.
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = %self.0.code, "{}", self.0.message);
        }
        (status, Json(serde_json::json!({"error": {"code": self.0.code, "message": self.0.message}}))).into_response()
    }
}
