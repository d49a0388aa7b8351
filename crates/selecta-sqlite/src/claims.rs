//! Analysis claims shared by the processes that open one library: before a file is read, its
//! path is claimed in `analysis_claims` (one write transaction decides), so two processes never
//! decode the same file. A claim names its owner, an open store; the owner is alive while it
//! holds an exclusive lock on `locks/<owner>.lock`. The operating system drops that lock when
//! the process dies however it dies (even `kill -9`), so a dead owner's claims are taken over
//! at once — no timeout to wait out, and no live process's claim is ever stolen.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use selecta_core::StoreError;
use selecta_core::store::PathClaim;

use crate::store::db_err;
use crate::taste::io_err;

/// Folder of the owners' lock files inside a library directory.
pub const LOCK_DIR: &str = "locks";

/// This store's identity in `analysis_claims`, alive while the lock on its file is held.
#[derive(Debug)]
pub struct Owner {
    token: String,
    path: PathBuf,
    /// Holds the lock; closed (unlocked) only after `drop` removed the file.
    _file: File,
}

impl Owner {
    /// Create and lock this store's owner file; remove files of owners that are gone.
    pub fn register(root: &Path) -> Result<Self, StoreError> {
        let dir = root.join(LOCK_DIR);
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        remove_dead_owner_files(&dir);
        // Unique among live owners: the process id, and a counter within the process.
        static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let token = format!("{}-{n}-{nanos:x}", std::process::id());
        // Locked under a temporary name and then renamed (the lock stays with the file): a
        // `.lock` file is never seen unlocked while its owner lives.
        let fresh = dir.join(format!("{token}.new"));
        let path = dir.join(format!("{token}.lock"));
        let file = File::options().create_new(true).write(true).open(&fresh).map_err(|e| io_err(&fresh, e))?;
        file.try_lock().map_err(|e| StoreError::Backend(format!("{}: cannot lock: {e}", fresh.display())))?;
        fs::rename(&fresh, &path).map_err(|e| io_err(&path, e))?;
        Ok(Self { token, path, _file: file })
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        // Removed while still locked, so nobody takes a closing owner for a dead one too early.
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether the owner `token` (another store) is alive: its lock file exists and is locked.
fn is_alive(dir: &Path, token: &str) -> bool {
    // Tokens are written by `Owner::register`; anything else in the table is not a live owner.
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return false;
    }
    let Ok(file) = File::options().write(true).open(dir.join(format!("{token}.lock"))) else { return false };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

/// Delete the lock files of owners that died without removing theirs (a killed process).
fn remove_dead_owner_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "lock")
            && let Ok(file) = File::options().write(true).open(&path)
            && file.try_lock().is_ok()
        {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Claim `path_key` for `owner`, unless another live owner holds it (one write transaction).
pub fn claim(
    conn: &mut Connection,
    root: &Path,
    owner: &Owner,
    path_key: &str,
    now_ms: i64,
) -> Result<PathClaim, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let holder: Option<String> = tx
        .query_row("SELECT owner FROM analysis_claims WHERE pathKey = ?1", [path_key], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    if let Some(holder) = holder
        && holder != owner.token
        && is_alive(&root.join(LOCK_DIR), &holder)
    {
        return Ok(PathClaim::HeldElsewhere);
    }
    tx.execute(
        "INSERT INTO analysis_claims (pathKey, owner, claimedAtMs) VALUES (?1, ?2, ?3)
         ON CONFLICT(pathKey) DO UPDATE SET owner = excluded.owner, claimedAtMs = excluded.claimedAtMs",
        params![path_key, owner.token, now_ms],
    )
    .map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(PathClaim::Granted)
}

/// Give back `owner`'s claim on `path_key`.
pub fn release(conn: &Connection, owner: &Owner, path_key: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM analysis_claims WHERE pathKey = ?1 AND owner = ?2", params![path_key, owner.token])
        .map(|_| ())
        .map_err(db_err)
}

/// Give back every claim of `owner` (the store closes).
pub fn release_all(conn: &Connection, owner: &Owner) -> Result<(), StoreError> {
    conn.execute("DELETE FROM analysis_claims WHERE owner = ?1", [&owner.token]).map(|_| ()).map_err(db_err)
}
