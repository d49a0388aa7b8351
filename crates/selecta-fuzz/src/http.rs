//! The `http_request` target: raw bytes sent as one request to a running `selecta serve`
//! (on loopback, over a small synthetic library), so hyper's parsing, the routes, the query and
//! body handling and the analysis of uploaded audio all see them. The answer must be an HTTP
//! response that is not a 500 (an internal error is a bug), and no thread of the service may
//! panic.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use selecta_core::Engine;
use selecta_core::embed::SamplingProfile;
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_server::ServiceConfig;
use selecta_sqlite::SqliteStore;

/// Songs in the service's library.
const SONGS: usize = 24;

static PANICKED: AtomicBool = AtomicBool::new(false);

/// The service, started once per process: its address, or why it could not start.
fn service() -> Result<SocketAddr, String> {
    static ADDR: OnceLock<Result<SocketAddr, String>> = OnceLock::new();
    ADDR.get_or_init(start).clone()
}

fn start() -> Result<SocketAddr, String> {
    // One library per process, in the temporary folder; those of processes that are gone are
    // removed (where `/proc` tells which are alive).
    let tmp = std::env::temp_dir();
    let proc = std::path::Path::new("/proc");
    if let (true, Ok(entries)) = (proc.is_dir(), std::fs::read_dir(&tmp)) {
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("selecta-fuzz-http-")
                && !proc.join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = tmp.join(format!("selecta-fuzz-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut store = SqliteStore::open(&dir).map_err(|e| e.to_string())?;
    SyntheticLibrary::new(4, 3).store_into(&mut store, SONGS).map_err(|e| e.to_string())?;
    let engine = Engine::open(store, SamplingProfile::default(), 0).map_err(|e| e.to_string())?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        previous(info);
    }));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let config = ServiceConfig::new(1 << 20, None);
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        if let Err(e) = selecta_server::run(addr, engine, config, |a| {
            let _ = tx.send(a);
        }) {
            eprintln!("the fuzzed service stopped: {e}");
        }
    });
    rx.recv_timeout(Duration::from_secs(30)).map_err(|e| format!("the service did not start: {e}"))
}

/// Send `data` as one request; check the answer.
pub fn http_request(data: &[u8]) {
    let addr = service().expect("the service starts");
    let mut stream = TcpStream::connect(addr).expect("connect to the service");
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    // The service may answer (and close) before it has read everything: a refused body.
    let _ = stream.write_all(data);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    assert!(!PANICKED.load(Ordering::SeqCst), "a thread of the service panicked");
    if let Err(e) = read {
        assert!(
            e.kind() != std::io::ErrorKind::WouldBlock && e.kind() != std::io::ErrorKind::TimedOut,
            "no answer in 60 s"
        );
    }
    if answer.is_empty() {
        // hyper closes a connection whose bytes are not a request line at all.
        return;
    }
    // An HTTP/1.0 request is answered in HTTP/1.0.
    let head = String::from_utf8_lossy(&answer[..answer.len().min(12)]).into_owned();
    let status = head.strip_prefix("HTTP/1.1 ").or_else(|| head.strip_prefix("HTTP/1.0 "));
    let Some(status) = status else { panic!("not an HTTP answer: {head:?}") };
    assert!(!status.starts_with("500"), "internal error for {:?}", String::from_utf8_lossy(&answer));
}

/// Seed requests: every route, with and without the filters, and an upload.
pub fn seeds() -> Vec<Vec<u8>> {
    let songs = SyntheticLibrary::new(4, 3);
    let id = songs.track(0).song_id;
    let other = songs.track(1).song_id;
    let mut spec =
        SynthSpec::new(124.0, selecta_core::features::Key { tonic: 5, mode: selecta_core::features::Mode::Minor });
    spec.seconds = 3.0;
    spec.sample_rate = 11_025;
    let wav = wav_bytes(&render(&spec), spec.sample_rate, 1);
    let upload = |path: &str| {
        let mut r = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", wav.len()).into_bytes();
        r.extend_from_slice(&wav);
        r
    };
    vec![
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        format!("GET /tracks/{id} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        format!(
            "GET /search?track_id={id}&k=5&bpm=120-130&half_double=true&key_compatible=true&exclude={other},x&duration=60-600&explain=true HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        .into_bytes(),
        format!("GET /search?track_id={id}&exact=true HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        upload("/search_by_audio?k=3&name=clip.wav"),
        upload("/identify?name=clip.wav"),
        upload("/embed?store=true&name=new.wav"),
        b"POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nRIFF\r\n0\r\n\r\n".to_vec(),
    ]
}
