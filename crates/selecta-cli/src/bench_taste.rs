//! `selecta bench --taste`: speed of taste training and prediction on a synthetic library
//! (feature records from [`selecta_core::testkit::synth_library`], stored in a temporary SQLite library),
//! measured on one thread: training on 100 liked + 400 disliked, training with a 500-track liked
//! set, and scoring N candidates whose features are in the store (cold, then from the cache).

use std::time::Instant;

use anyhow::{Result, bail};
use selecta_core::Store;
use selecta_core::taste::{self, NoControl, PredictStatus, TrainStatus};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_sqlite::SqliteStore;
use serde_json::json;

use crate::files::now_ms;

fn train(store: &mut SqliteStore, pos: &[String], neg: &[String]) -> Result<f64> {
    let started = Instant::now();
    let t = taste::train_selection_gbdt(store, pos, neg, now_ms(), &mut NoControl);
    if t.status != TrainStatus::Trained {
        bail!("training did not succeed: {}", serde_json::to_string(&t)?);
    }
    Ok(started.elapsed().as_secs_f64())
}

pub fn run(candidates: usize, liked: usize, json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut store = SqliteStore::open(dir.path())?;
    let lib = SyntheticLibrary::new(8, 2026);
    // Cluster 0 is the liked style: track i belongs to cluster i % 8.
    let disliked = 4 * liked.max(100);
    let labelled = 8 * liked.max(100) + disliked;
    let total = labelled + candidates;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(total);
    for i in 0..total {
        let f = lib.track(i);
        ids.push(f.song_id.clone());
        store.put_song_features(&f, 0)?;
    }
    let fill_s = started.elapsed().as_secs_f64();
    let pick = |in_cluster: bool, n: usize| -> Vec<String> {
        ids[..labelled]
            .iter()
            .enumerate()
            .filter(|(i, _)| (i % 8 == 0) == in_cluster)
            .take(n)
            .map(|(_, id)| id.clone())
            .collect()
    };
    let small = train(&mut store, &pick(true, 100), &pick(false, 400))?;
    let large = train(&mut store, &pick(true, liked), &pick(false, disliked))?;
    let pool = &ids[labelled..];
    let started = Instant::now();
    let cold = taste::predict_selection_candidates(&mut store, pool, 100, now_ms(), &mut NoControl);
    let cold_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let warm = taste::predict_selection_candidates(&mut store, pool, 100, now_ms(), &mut NoControl);
    let warm_s = started.elapsed().as_secs_f64();
    if cold.status != PredictStatus::Ok || warm.items != cold.items {
        bail!("prediction failed or the cache changed the result: {:?}", cold.status);
    }
    let hits = cold.items.iter().filter(|it| ids.iter().position(|x| *x == it.id).is_some_and(|i| i % 8 == 0)).count();
    let value = json!({
        "tracks": total,
        "candidates": pool.len(),
        "fillSeconds": fill_s,
        "train100x400Seconds": small,
        "trainLikedSeconds": large,
        "liked": liked,
        "disliked": disliked,
        "predictColdSeconds": cold_s,
        "predictCachedSeconds": warm_s,
        "top100FromLikedStyle": hits,
    });
    if json {
        println!("{value}");
    } else {
        println!("synthetic library: {total} tracks ({fill_s:.1} s to store)");
        println!("train 100 liked + 400 disliked:        {small:.2} s");
        println!("train {liked} liked + {disliked} disliked:      {large:.2} s");
        println!("predict {} candidates, cold:        {cold_s:.2} s", pool.len());
        println!("predict {} candidates, cached:      {warm_s:.2} s", pool.len());
        println!("top 100 from the liked style:          {hits}/100");
    }
    Ok(())
}
