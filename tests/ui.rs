//! Compile-time errors of `network!`, each against its exact message (`tests/ui/<kind>/<case>.stderr`).
//!
//! The `.stderr` files were written by `TRYBUILD=overwrite cargo test --test ui` and reviewed by hand. They hold
//! rustc's rendering, which changes between compiler releases, so they are compared only on the release that made
//! them ([`SNAPSHOT_RUSTC`]). On another release every case must still fail to compile, but its text is not
//! compared: the cases are copied without their snapshots and the test prints that it did so.

use std::path::Path;

/// The compiler release the `.stderr` snapshots come from.
const SNAPSHOT_RUSTC: &str = "rustc 1.95.";

#[test]
fn compile_errors() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let cases = trybuild::TestCases::new();
    if version.starts_with(SNAPSHOT_RUSTC) {
        cases.compile_fail("tests/ui/*/*.rs");
        return;
    }
    eprintln!(
        "tests/ui: the snapshots were made with {SNAPSHOT_RUSTC}x and this is {}: checking that every case fails \
         to compile, without comparing messages",
        version.trim()
    );
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-unpinned");
    let _ = std::fs::remove_dir_all(&copy);
    for kind in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let kind = kind.expect("readable").path();
        let target = copy.join(kind.file_name().expect("a directory name"));
        std::fs::create_dir_all(&target).expect("writable target dir");
        for case in std::fs::read_dir(&kind).expect("readable") {
            let case = case.expect("readable").path();
            if case.extension().is_some_and(|e| e == "rs") {
                std::fs::copy(&case, target.join(case.file_name().expect("a file name"))).expect("copied");
            }
        }
    }
    // Without a snapshot, `overwrite` makes trybuild record the new message instead of failing on its absence.
    std::env::set_var("TRYBUILD", "overwrite");
    cases.compile_fail(copy.join("*/*.rs"));
}
