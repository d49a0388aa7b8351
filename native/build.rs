//! Link settings for a Node addon (napi-build sets the platform's flags).
fn main() {
    napi_build::setup();
}
