//! `selecta bench --http`: the local HTTP service under load. A synthetic library (feature
//! records from [`selecta_core::testkit::synth_library`], in a SQLite library in a temporary
//! folder) is served on a free loopback port; one warm-up request builds the search index;
//! then 32 client threads send 2 000 `GET /search?track_id=…&k=10` requests in all, each on its
//! own connection, as a browser page or a script would. Reported: errors, p50/p95/max latency and
//! requests per second. The service thread ends with the process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use selecta_core::Engine;
use selecta_core::embed::SamplingProfile;
use selecta_core::store::Store;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_server::ServiceConfig;
use selecta_sqlite::SqliteStore;
use serde_json::json;

const CLIENTS: usize = 32;
const REQUESTS: usize = 2_000;

/// One request on its own connection: (status, whole response), or why it failed.
fn get(addr: SocketAddr, target: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(stream, "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no status line in {response:?}"))?;
    Ok((status, response))
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let i = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms.get(i).copied().unwrap_or(f64::NAN)
}

pub fn run(tracks: usize, json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut store = SqliteStore::open(dir.path())?;
    let started = Instant::now();
    let ids = SyntheticLibrary::new(16, 7).store_into(&mut store as &mut dyn Store, tracks)?;
    let fill_s = started.elapsed().as_secs_f64();
    let engine = Engine::open(store, SamplingProfile::Full, 0)?;
    let (bound, listening) = mpsc::channel();
    std::thread::spawn(move || {
        let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
        if let Err(e) = selecta_server::run(localhost, engine, ServiceConfig::default(), |addr| {
            let _ = bound.send(addr);
        }) {
            eprintln!("selecta: the service stopped: {e}");
        }
    });
    let addr = listening.recv_timeout(Duration::from_secs(60)).context("the service did not start")?;
    let started = Instant::now();
    let (status, body) = get(addr, &format!("/search?track_id={}&k=10", ids[0]))?;
    if status != 200 {
        return Err(anyhow!("warm-up request answered {status}: {body}"));
    }
    let warm_up_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let results: Vec<(Vec<f64>, Vec<String>)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let ids = &ids;
                scope.spawn(move || {
                    let (mut times, mut errors) = (Vec::new(), Vec::new());
                    for r in 0..REQUESTS / CLIENTS + usize::from(c < REQUESTS % CLIENTS) {
                        let id = &ids[(c * 997 + r * 31) % ids.len()];
                        let t = Instant::now();
                        match get(addr, &format!("/search?track_id={id}&k=10")) {
                            Ok((200, _)) => times.push(t.elapsed().as_secs_f64() * 1000.0),
                            Ok((status, body)) => errors.push(format!("{status}: {body}")),
                            Err(e) => errors.push(e.to_string()),
                        }
                    }
                    (times, errors)
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().unwrap_or_else(|_| (Vec::new(), vec!["client panicked".into()]))).collect()
    });
    let wall_s = started.elapsed().as_secs_f64();
    let mut times: Vec<f64> = results.iter().flat_map(|(t, _)| t.iter().copied()).collect();
    let errors: Vec<&String> = results.iter().flat_map(|(_, e)| e).collect();
    times.sort_by(f64::total_cmp);
    let report = json!({
        "tracks": tracks,
        "fillSeconds": fill_s,
        "warmUpSeconds": warm_up_s,
        "clients": CLIENTS,
        "requests": REQUESTS,
        "ok": times.len(),
        "errors": errors.len(),
        "p50Ms": percentile(&times, 0.5),
        "p95Ms": percentile(&times, 0.95),
        "maxMs": times.last().copied().unwrap_or(f64::NAN),
        "requestsPerSecond": times.len() as f64 / wall_s.max(1e-9),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{tracks} tracks (stored in {fill_s:.1} s; first search {warm_up_s:.2} s): {} requests from {CLIENTS} clients, {} errors; p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms, {:.0} requests/s",
            REQUESTS,
            errors.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            report["maxMs"].as_f64().unwrap_or(f64::NAN),
            report["requestsPerSecond"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if let Some(first) = errors.first() {
        eprintln!("first error: {first}");
    }
    Ok(())
}
