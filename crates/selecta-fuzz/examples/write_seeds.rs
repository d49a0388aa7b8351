//! Write every target's seeds to `DIR/<target>/seed-<n>` (libFuzzer's corpus folders):
//! `cargo run -p selecta-fuzz --example write_seeds -- DIR`.

use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/fuzz-corpus".to_string()));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio");
    for target in selecta_fuzz::TARGETS {
        let dir = out.join(target.name);
        std::fs::create_dir_all(&dir)?;
        for (i, seed) in selecta_fuzz::seeds(target, &fixtures).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed)?;
        }
    }
    Ok(())
}
