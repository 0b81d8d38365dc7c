//! In-process cost of what an application does per request: resolve
//! `NAME@LABEL` and read the verified bytes of a 4 KB prompt.
//!
//! `cargo bench --bench resolve` prints the median cost per operation over
//! batches of calls, timed with `std::time::Instant`; `-- --json FILE` also
//! writes the figures for `bench/report.py`. Target (PERFORMANCE.md): under
//! 20 µs with the store open. Nothing here asserts a duration.

use std::hint::black_box;
use std::time::Instant;

use promptrel::{Label, PromptName, Rev, Signature, Store};

const SIZE: usize = 4096;
const BATCHES: usize = 31;
const PER_BATCH: usize = 2000;

/// Median nanoseconds per call of `f`.
fn per_op(mut f: impl FnMut()) -> f64 {
    for _ in 0..PER_BATCH {
        f(); // warm the page cache, the allocator and the branch predictors
    }
    let mut batches: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..PER_BATCH {
                f();
            }
            start.elapsed().as_nanos() as f64 / PER_BATCH as f64
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[BATCHES / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let json = match args.as_slice() {
        [] => None,
        [flag, file] if flag == "--json" => Some(file.clone()),
        _ => return Err("usage: cargo bench --bench resolve [-- --json FILE]".into()),
    };

    let tmp = tempfile::tempdir()?;
    let (store, _) = Store::init(tmp.path())?;
    let sig = Signature {
        author: "Bench <bench@example.com>".into(),
        time: jiff::Timestamp::UNIX_EPOCH,
    };
    let name = PromptName::new("support/refund-bot")?;
    let prompt: Vec<u8> = b"You are a support assistant. Refund politely.\n"
        .iter()
        .copied()
        .cycle()
        .take(SIZE)
        .collect();
    // `staging`, not `prod`: a protected label needs `promote`, and the
    // cost of resolving a label does not depend on which label it is.
    store.add(&name, &prompt, "v1", &[Label::new("staging")?], None, &sig)?;
    let dir = store.dir().to_path_buf();

    let resolve_read = per_op(|| {
        let rev = Rev::parse(black_box("support/refund-bot@staging")).unwrap();
        let id = store.resolve(&rev).unwrap();
        let bytes = store.read(&id).unwrap();
        assert_eq!(bytes.len(), SIZE);
        black_box(bytes);
    });
    let open_resolve_read = per_op(|| {
        let store = Store::open(black_box(&dir)).unwrap();
        let rev = Rev::parse("support/refund-bot@staging").unwrap();
        let id = store.resolve(&rev).unwrap();
        black_box(store.read(&id).unwrap());
    });
    let hash_only = per_op(|| {
        black_box(blake3::hash(black_box(&prompt)));
    });

    println!(
        "resolve NAME@LABEL -> verified bytes of a {SIZE}-byte prompt (median of {BATCHES} batches of {PER_BATCH}):"
    );
    println!(
        "  store already open:        {:7.2} µs/op",
        resolve_read / 1e3
    );
    println!(
        "  Store::open + resolve:     {:7.2} µs/op",
        open_resolve_read / 1e3
    );
    println!("  of which BLAKE3 of 4 KB:   {:7.2} µs/op", hash_only / 1e3);
    if let Some(file) = json {
        std::fs::write(
            file,
            format!(
                "{{\"size\": {SIZE}, \"resolve_read_us\": {:.3}, \"open_resolve_read_us\": {:.3}, \"hash_us\": {:.3}}}\n",
                resolve_read / 1e3,
                open_resolve_read / 1e3,
                hash_only / 1e3
            ),
        )?;
    }
    Ok(())
}
