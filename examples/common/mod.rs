//! Command-line handling shared by the examples: `[--data DIR] [--epochs N] [--out DIR]`, and `--help`.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod adding;
pub mod text;

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

/// Parses the process arguments. `--help` (or `-h`) prints the usage to stdout and exits with status 0; anything
/// unknown prints it to stderr and exits with status 2. An example that has no epochs passes
/// `default_epochs = 0`, and then takes no `--epochs`; one that generates its data passes `default_data = ""`,
/// and then takes no `--data`.
pub fn parse(example: &str, default_data: &str, default_epochs: usize) -> Args {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        data: root.join(default_data),
        data_given: false,
        epochs: default_epochs,
        out: root.join("out").join(example),
    };
    let generated = default_data.is_empty();
    let epochs = if default_epochs > 0 { " [--epochs N]" } else { "" };
    let (data_flag, data_help) = if generated {
        ("", String::new())
    } else {
        (" [--data DIR]", format!("  --data DIR    the data set (default: {default_data}, shipped with nn)\n"))
    };
    let usage = format!(
        "usage: cargo run --release --example {example} --{data_flag}{epochs} [--out DIR]\n\n{data_help}{}  --out DIR     \
         where results are written (default: out/{example})\n  -h, --help    this text",
        if default_epochs > 0 {
            format!("  --epochs N    epochs to train (default: {default_epochs})\n")
        } else {
            String::new()
        }
    );
    let fail = |problem: &str| -> ! {
        eprintln!("error: {problem}\n{usage}");
        std::process::exit(2)
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{usage}");
            std::process::exit(0);
        }
        let Some(value) = it.next() else { fail(&format!("`{flag}` needs a value")) };
        match flag.as_str() {
            "--data" if !generated => {
                args.data = value.into();
                args.data_given = true;
            }
            "--epochs" if default_epochs > 0 => {
                args.epochs =
                    value.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| fail("`--epochs` takes a number ≥ 1"))
            }
            "--out" => args.out = value.into(),
            _ => fail(&format!("unknown option `{flag}`")),
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("cannot create {}: {e}", args.out.display());
        std::process::exit(1);
    }
    if !generated {
        println!("data: {}{}", args.data.display(), if args.data_given { "" } else { " (default)" });
    }
    args
}

/// One 28×28 grey image, as the MNIST examples read it.
pub type Image = [[[f32; 28]; 28]; 1];

/// `f` of every pixel of an image.
pub fn map_pixels(x: &Image, f: impl Fn(f32) -> f32) -> Image {
    [core::array::from_fn(|i| core::array::from_fn(|j| f(x[0][i][j])))]
}

/// `f` of every pixel of two images.
pub fn zip_pixels(x: &Image, y: &Image, f: impl Fn(f32, f32) -> f32) -> Image {
    [core::array::from_fn(|i| core::array::from_fn(|j| f(x[0][i][j], y[0][i][j])))]
}

/// Prints an error and exits with status 1.
pub fn fail(error: impl std::fmt::Display) -> ! {
    eprintln!("error: {error}");
    std::process::exit(1)
}
