//! `selecta serve`: the library over local HTTP (see `selecta-server`). This file opens the
//! library and the model and checks the address; the service is `selecta_server`'s.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Result;
use selecta_server::{ServiceConfig, check_address};

use crate::files::open_library;

/// Settings of `selecta serve`.
#[derive(Debug)]
pub struct ServeArgs<'a> {
    pub library: Option<&'a Path>,
    pub addr: SocketAddr,
    pub allow_remote: bool,
    pub token: Option<String>,
    pub max_body_mb: usize,
    pub model_dir: Option<&'a Path>,
}

pub fn run(args: ServeArgs<'_>) -> Result<()> {
    let config = ServiceConfig::new(args.max_body_mb.saturating_mul(1024 * 1024), args.token);
    check_address(args.addr, args.allow_remote, &config)?;
    let (root, mut engine) = open_library(args.library, None)?;
    // Without the model the service still searches, identifies and analyses; /health says why
    // uploads get no embedding.
    if let Err(e) = engine.set_model(crate::model::load(args.model_dir)) {
        tracing::warn!("{e}; uploads are analysed without an embedding");
    }
    selecta_server::run(args.addr, engine, config, |bound| {
        println!("serving {} on http://{bound}", root.display());
        // Scripts and tests read the port from this line.
        let _ = std::io::stdout().flush();
    })?;
    Ok(())
}
