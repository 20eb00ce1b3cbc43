//! The panicking forms of the batch methods report the caller's line, not the library's: their messages point at
//! the user's mistake. (Its own test binary: the panic hook it installs is process-wide.)

use nn::prelude::*;

network! {
    struct Net { Input<4> -> fc: Linear<4, 2> }
}

/// The file and line a panic inside `f` reports.
fn panic_location(f: impl FnOnce() + std::panic::UnwindSafe) -> (String, u32) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let record = seen.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let at = info.location().map(|l| (l.file().to_string(), l.line()));
        *record.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(previous);
    assert!(result.is_err(), "it panics");
    let at = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    at.expect("a location")
}

#[test]
fn panicking_batch_methods_point_at_the_callers_line() {
    let here = file!().to_string();
    let (file, line) = panic_location(|| {
        let mut net = Net::new(0);
        let mut sgd = Sgd::new(SgdConfig::default());
        net.train_step(&[[0.0; 4]; 3], &[0, 1], &CrossEntropy, &mut sgd);
    });
    assert_eq!((file.as_str(), line), (here.as_str(), line!() - 2), "train_step");
    let (file, line) = panic_location(|| {
        let mut net = Net::new(0);
        net.forward_batch(&[[0.0; 4]; 3], &mut [[0.0; 2]; 2]);
    });
    assert_eq!((file.as_str(), line), (here.as_str(), line!() - 2), "forward_batch");
    let (file, line) = panic_location(|| {
        let mut net = Net::new(0);
        net.accuracy(&[[0.0; 4]; 3], &[1]);
    });
    assert_eq!((file.as_str(), line), (here.as_str(), line!() - 2), "accuracy");
}
