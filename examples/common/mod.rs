//! Command-line handling shared by the examples: `[--data DIR] [--epochs N] [--out DIR]`.
#![allow(dead_code)]

use std::path::PathBuf;

/// The parsed options.
pub struct Args {
    /// Where the data set is (`--data`), defaulting to a sample shipped in the repository.
    pub data: PathBuf,
    /// Whether `--data` was given (the examples say which data they used).
    pub data_given: bool,
    /// Epochs (or iterations, for full-batch examples).
    pub epochs: usize,
    /// Where to write weights, curves and images.
    pub out: PathBuf,
}

/// Parses the process arguments; prints usage and exits on anything unknown.
pub fn parse(example: &str, default_data: &str, default_epochs: usize) -> Args {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        data: root.join(default_data),
        data_given: false,
        epochs: default_epochs,
        out: root.join("out").join(example),
    };
    let usage = || -> ! {
        eprintln!("usage: cargo run --release --example {example} -- [--data DIR] [--epochs N] [--out DIR]");
        std::process::exit(2)
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else { usage() };
        match flag.as_str() {
            "--data" => {
                args.data = value.into();
                args.data_given = true;
            }
            "--epochs" => args.epochs = value.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| usage()),
            "--out" => args.out = value.into(),
            _ => usage(),
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("cannot create {}: {e}", args.out.display());
        std::process::exit(1);
    }
    println!("data: {}{}", args.data.display(), if args.data_given { "" } else { " (default)" });
    args
}

/// Prints an error and exits with status 1.
pub fn fail(error: impl std::fmt::Display) -> ! {
    eprintln!("error: {error}");
    std::process::exit(1)
}
