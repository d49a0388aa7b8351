//! The HTTP service on a free loopback port, driven by a raw HTTP/1.1 client (so that bad
//! requests — lying lengths, oversized bodies, wrong methods — can be sent as a broken client
//! would): every endpoint, bad input, a bounded load test, a token, and a shutdown during an
//! upload that leaves the library intact.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use selecta_core::Engine;
use selecta_core::control::NoControl;
use selecta_core::embed::SamplingProfile;
use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use selecta_server::{ServiceConfig, check_address, serve};
use selecta_sqlite::{FEATURES_DB, SqliteStore};
use serde_json::Value;
use tokio::sync::oneshot;

const RATE: u32 = 22_050;

fn track(bpm: f32, tonic: u8, mode: Mode, seed: u64) -> Vec<f32> {
    render(&SynthSpec::library_track(bpm, Key { tonic, mode }, 30.0, seed))
}

/// A library folder with four analysed tracks; their song ids by file name.
fn library(dir: &Path) -> Vec<(String, String)> {
    let store = SqliteStore::open(dir).expect("store");
    let mut engine = Engine::open(store, SamplingProfile::default(), 0).expect("engine");
    let specs = [(100.0, 0, Mode::Major), (112.0, 9, Mode::Minor), (124.0, 7, Mode::Major), (138.0, 2, Mode::Minor)];
    specs
        .iter()
        .enumerate()
        .map(|(i, &(bpm, tonic, mode))| {
            let name = format!("track {i} (mix).wav");
            let bytes = wav_bytes(&track(bpm, tonic, mode, i as u64 + 1), RATE, 1);
            std::fs::write(dir.join(&name), &bytes).expect("written");
            let result = engine.analyze_file(&name, bytes, None, 0, 0, &mut NoControl).expect("analysed");
            (name, result.song_id)
        })
        .collect()
}

/// A running service; stops (gracefully) when dropped or on [`Server::stop`].
struct Server {
    addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    fn start(dir: &Path, config: ServiceConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
        let store = SqliteStore::open(dir).expect("store");
        let engine = Engine::open(store, SamplingProfile::default(), 0).expect("engine");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bound");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let done = runtime.spawn(async move {
            serve(listener, engine, config, async {
                let _ = stopped.await;
            })
            .await
            .expect("served");
        });
        Self { addr, runtime, stop: Some(stop), done: Some(done) }
    }

    /// Ask for shutdown and wait (bounded) until every request in flight has finished.
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            self.runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(60), done).await })
                .expect("the service stops within a minute")
                .expect("the service task ends cleanly");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Send raw bytes, read the whole response: (status, JSON body); status 0 when the service
/// closed the connection without answering (e.g. while shutting down).
fn exchange(addr: SocketAddr, request: &[u8], half_close: bool) -> (u16, Value) {
    exchange_then(addr, request, half_close, || {})
}

/// [`exchange`], calling `sent` once the whole request is written.
fn exchange_then(addr: SocketAddr, request: &[u8], half_close: bool, sent: impl FnOnce()) -> (u16, Value) {
    let Ok(mut stream) = TcpStream::connect(addr) else { return (0, Value::Null) };
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    if stream.write_all(request).is_err() {
        return (0, Value::Null);
    }
    sent();
    if half_close {
        stream.shutdown(std::net::Shutdown::Write).expect("half-closed");
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn get(addr: SocketAddr, target: &str) -> (u16, Value) {
    exchange(addr, format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(), false)
}

fn post(addr: SocketAddr, target: &str, body: &[u8]) -> (u16, Value) {
    exchange(addr, &post_request(target, body), false)
}

fn post_request(target: &str, body: &[u8]) -> Vec<u8> {
    let mut request =
        format!("POST {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len())
            .into_bytes();
    request.extend_from_slice(body);
    request
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

#[test]
fn every_endpoint_answers_and_bad_requests_get_coded_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let songs = library(dir.path());
    let server = Server::start(dir.path(), ServiceConfig::new(8 * 1024 * 1024, None));
    let addr = server.addr;

    let (status, health) = get(addr, "/health");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")), "{health}");
    assert_eq!(health["model"]["status"], "runtime_unavailable", "no model was loaded: {health}");

    let (name, id) = &songs[2];
    let (status, stored) = get(addr, &format!("/tracks/{id}"));
    assert_eq!(status, 200);
    assert_eq!((stored["songId"].as_str(), stored["path"].as_str()), (Some(id.as_str()), Some(name.as_str())));
    assert!((stored["bpm"].as_f64().unwrap_or(0.0) - 124.0).abs() < 2.0, "{stored}");

    let (status, found) = get(addr, &format!("/search?track_id={id}&k=2"));
    assert_eq!(status, 200, "{found}");
    let items = found["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["id"] != id.as_str() && i["parts"]["timbre"].is_number()), "{found}");
    // Filters as query parameters: only the 100 BPM track is within 95–105 (or half/double).
    let (status, found) = get(addr, &format!("/search?track_id={id}&bpm=95-105&half_double=true&explain=true"));
    assert_eq!(status, 200, "{found}");
    let kept: Vec<&str> = found["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(kept, [songs[0].1.as_str()]);
    assert_eq!(found["filtered"].as_array().map(Vec::len), Some(2), "{found}");

    // A snippet of track 1, cut at 9 s, noisy enough to differ from the file.
    let source = track(112.0, 9, Mode::Minor, 2);
    let snippet: Vec<f32> = source[9 * RATE as usize..19 * RATE as usize].iter().map(|x| x * 0.5).collect();
    let snippet = wav_bytes(&snippet, RATE, 1);
    let (status, out) = post(addr, "/identify?name=clip.wav", &snippet);
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["identified"]["id"].as_str(), Some(songs[1].1.as_str()), "{out}");
    let (status, out) = post(addr, "/search_by_audio?k=2", &snippet);
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["identified"]["id"].as_str(), Some(songs[1].1.as_str()), "{out}");
    assert_eq!(out["items"].as_array().map(Vec::len), Some(2), "{out}");

    // /embed analyses without storing unless asked.
    let new_track = wav_bytes(&track(90.0, 4, Mode::Major, 9), RATE, 1);
    let (status, out) = post(addr, "/embed", &new_track);
    assert_eq!((status, out["stored"].as_bool()), (200, Some(false)), "{out}");
    let new_id = out["features"]["songId"].as_str().expect("songId").to_string();
    assert!((out["features"]["bpm"].as_f64().unwrap_or(0.0) - 90.0).abs() < 2.0, "{out}");
    assert_eq!(get(addr, &format!("/tracks/{new_id}")).0, 404, "not stored");
    let (status, out) = post(addr, "/embed?store=true", &new_track);
    assert_eq!((status, out["stored"].as_bool()), (200, Some(true)), "{out}");
    assert_eq!(get(addr, &format!("/tracks/{new_id}")).0, 200, "stored");
    let (_, found) = get(addr, &format!("/search?track_id={new_id}&k=10"));
    assert_eq!(found["items"].as_array().map(Vec::len), Some(4), "the stored song is searchable: {found}");

    // Bad input: each with its code and status.
    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        ("empty body", post(addr, "/identify", b""), 400, "empty_file"),
        ("random bytes", post(addr, "/identify", &[0x5a; 4096]), 415, "unsupported_format"),
        ("truncated file", post(addr, "/identify?name=t.wav", &snippet[..300]), 400, "invalid_input"),
        ("unknown track", get(addr, "/tracks/no-such-song"), 404, "not_found"),
        ("unknown search track", get(addr, "/search?track_id=no-such-song"), 404, "not_found"),
        ("missing track id", get(addr, "/search?k=3"), 400, "invalid_input"),
        ("malformed range", get(addr, &format!("/search?track_id={id}&bpm=fast")), 400, "invalid_input"),
        ("malformed number", get(addr, &format!("/search?track_id={id}&k=ten")), 400, "invalid_input"),
        ("unknown parameter", get(addr, &format!("/search?track_id={id}&colour=red")), 400, "invalid_input"),
        ("wrong method", post(addr, "/search", b"x"), 405, "invalid_input"),
        ("unknown route", get(addr, "/nothing/here"), 404, "not_found"),
    ];
    for (what, (status, body), want_status, want_code) in cases {
        assert_eq!((status, error_code(&body)), (want_status, want_code), "{what}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    }
}

#[test]
fn oversized_and_lying_bodies_are_refused_without_harm() {
    let dir = tempfile::tempdir().expect("tmp");
    let songs = library(dir.path());
    let server = Server::start(dir.path(), ServiceConfig::new(64 * 1024, None));
    let addr = server.addr;

    // Declared too large: refused before the body is read.
    let big = vec![0u8; 200 * 1024];
    let (status, body) = post(addr, "/identify", &big);
    assert_eq!((status, error_code(&body)), (413, "too_large"), "{body}");
    // Chunked, so no length is declared: cut off once it passes the cap.
    let mut chunked =
        b"POST /embed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 8192).as_bytes());
        chunked.extend_from_slice(&[1u8; 8192]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = exchange(addr, &chunked, false);
    assert_eq!((status, error_code(&body)), (413, "too_large"), "{body}");
    // A lying Content-Length: 50 000 announced, 10 sent, then the client stops sending.
    let lying = b"POST /identify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 50000\r\n\r\n0123456789";
    let (status, body) = exchange(addr, lying, true);
    assert_eq!((status, error_code(&body)), (400, "invalid_input"), "{body}");
    // The service is unharmed.
    let (status, _) = get(addr, &format!("/tracks/{}", songs[0].1));
    assert_eq!(status, 200);
}

#[test]
fn two_thousand_searches_from_32_clients_all_succeed() {
    let dir = tempfile::tempdir().expect("tmp");
    let songs = library(dir.path());
    let server = Server::start(dir.path(), ServiceConfig::default());
    let addr = server.addr;
    let ids: Vec<String> = songs.into_iter().map(|(_, id)| id).collect();
    let started = Instant::now();
    let slowest = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..32)
            .map(|c| {
                let ids = &ids;
                scope.spawn(move || {
                    let mut slowest = Duration::ZERO;
                    for r in 0..2000 / 32 + usize::from(c < 2000 % 32) {
                        let id = &ids[(c + r) % ids.len()];
                        let t = Instant::now();
                        let (status, body) = get(addr, &format!("/search?track_id={id}&k=3"));
                        slowest = slowest.max(t.elapsed());
                        assert_eq!(status, 200, "{body}");
                        assert_eq!(body["items"].as_array().map(Vec::len), Some(3), "{body}");
                    }
                    slowest
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().expect("client")).max().unwrap_or_default()
    });
    // Bounded, not a speed goal (that is `selecta bench`): no request waits on a stuck one.
    assert!(slowest < Duration::from_secs(30), "slowest request {slowest:?} of {:?}", started.elapsed());
}

#[test]
fn a_token_guards_every_endpoint_and_remote_addresses_need_one() {
    let dir = tempfile::tempdir().expect("tmp");
    library(dir.path());
    let server = Server::start(dir.path(), ServiceConfig::new(1024, Some("s3cret".into())));
    let (status, body) = get(server.addr, "/health");
    assert_eq!((status, error_code(&body)), (401, "unauthorized"));
    let wrong = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer guess\r\n\r\n";
    assert_eq!(exchange(server.addr, wrong, false).0, 401);
    let right = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer s3cret\r\n\r\n";
    assert_eq!(exchange(server.addr, right, false).0, 200);

    let remote: SocketAddr = "0.0.0.0:8717".parse().expect("addr");
    let loopback: SocketAddr = "127.0.0.1:8717".parse().expect("addr");
    assert!(check_address(loopback, false, &ServiceConfig::default()).is_ok());
    assert!(check_address(remote, false, &ServiceConfig::new(1024, Some("t".into()))).is_err(), "needs the flag");
    assert!(check_address(remote, true, &ServiceConfig::default()).is_err(), "needs a token");
    assert!(check_address(remote, true, &ServiceConfig::new(1024, Some(String::new()))).is_err(), "empty token");
    assert!(check_address(remote, true, &ServiceConfig::new(1024, Some("t".into()))).is_ok());
}

#[test]
fn shutdown_during_uploads_leaves_the_library_intact() {
    let dir = tempfile::tempdir().expect("tmp");
    let songs = library(dir.path());
    let mut server = Server::start(dir.path(), ServiceConfig::default());
    let addr = server.addr;
    // Uploads that store their analysis, sent whole before the shutdown arrives.
    let (sent, sent_all) = std::sync::mpsc::channel();
    let uploads: Vec<_> = (0..4)
        .map(|i| {
            let sent = sent.clone();
            std::thread::spawn(move || {
                let audio = wav_bytes(&track(80.0 + 7.0 * i as f32, i as u8, Mode::Major, 20 + i), RATE, 1);
                exchange_then(addr, &post_request("/embed?store=true", &audio), false, move || {
                    let _ = sent.send(());
                })
            })
        })
        .collect();
    for _ in 0..4 {
        sent_all.recv_timeout(Duration::from_secs(60)).expect("every upload was sent within 60 s");
    }
    server.stop();
    let mut answered = 0;
    for upload in uploads {
        let (status, body) = upload.join().expect("upload thread");
        // Finished before the shutdown (200), or refused because the service had stopped
        // accepting (no response): never a half-written answer.
        assert!(status == 200 || status == 0, "{status} {body}");
        answered += usize::from(status == 200);
    }
    let db = rusqlite::Connection::open(dir.path().join(FEATURES_DB)).expect("db");
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("checked");
    assert_eq!(check, "ok");
    // Every upload that was answered is stored, and nothing else.
    let rows: usize = db.query_row("SELECT COUNT(*) FROM song_features", [], |r| r.get(0)).expect("count");
    assert_eq!(rows, songs.len() + answered, "{answered} uploads answered");
}
