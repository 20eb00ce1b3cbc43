//! Readers against files the tests write: values, every kind of malformed file, and random bytes.

use super::*;
use crate::{Error, Rng};
use std::io::Write;
use std::path::Path;

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [0x0803, count, rows, cols] {
        b.extend(u32::to_be_bytes(w));
    }
    b.extend(pixels);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(u32::to_be_bytes(0x0801));
    b.extend(u32::to_be_bytes(labels.len() as u32));
    b.extend(labels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn problem(result: crate::Result<impl std::fmt::Debug>) -> String {
    match result.unwrap_err() {
        Error::Format { problem, .. } => problem,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn idx_round_trip_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..2 * 3 * 2).map(|v| (v * 20) as u8).collect();
    std::fs::write(dir.path().join("i"), idx_images(2, 3, 2, &pixels)).unwrap();
    std::fs::write(dir.path().join("l.gz"), gzip(&idx_labels(&[7, 1]))).unwrap();
    let data = load_idx::<[[f32; 2]; 3]>(&dir.path().join("i"), &dir.path().join("l.gz"), 10).unwrap();
    assert_eq!(data.targets, [7, 1]);
    assert_eq!(data.inputs[1][2][1], 220.0 / 255.0);
    assert_eq!(data.inputs[0][0][0], 0.0);
    // The same pixels as a flat 6-feature input.
    let flat = load_idx::<[f32; 6]>(&dir.path().join("i"), &dir.path().join("l.gz"), 10).unwrap();
    assert_eq!(flat.inputs[1][5], 220.0 / 255.0);
}

#[test]
fn malformed_idx_files_name_the_problem() {
    let p = Path::new("f");
    let good = idx_images(2, 2, 2, &[0; 8]);
    let mut bad_magic = good.clone();
    bad_magic[3] = 0x01;
    assert_eq!(
        problem(parse_idx_images(&bad_magic, p)),
        "wrong magic number 0x00000801; IDX images files start with 0x00000803"
    );
    assert_eq!(
        problem(parse_idx_images(&good[..20], p)),
        "truncated: the header announces 2 images of 2×2 (8 bytes), the file has 4"
    );
    assert_eq!(problem(parse_idx_images(&good[..10], p)), "truncated header: 10 bytes, an IDX header here has 16");
    let mut long = good.clone();
    long.push(0);
    assert_eq!(problem(parse_idx_images(&long, p)), "1 bytes after the 2 images of 2×2 the header announces");
    assert_eq!(
        problem(parse_idx_labels(&good, p)),
        "wrong magic number 0x00000803; IDX labels files start with 0x00000801"
    );
}

#[test]
fn inconsistent_idx_pairs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (i, l) = (dir.path().join("i"), dir.path().join("l"));
    std::fs::write(&i, idx_images(2, 2, 2, &[0; 8])).unwrap();
    std::fs::write(&l, idx_labels(&[1, 2, 3])).unwrap();
    assert!(problem(load_idx::<[f32; 4]>(&i, &l, 10)).starts_with("3 labels for the 2 images of"));
    std::fs::write(&l, idx_labels(&[1, 12])).unwrap();
    assert_eq!(problem(load_idx::<[f32; 4]>(&i, &l, 10)), "label 12 of sample 1 is not below 10 classes");
    std::fs::write(&l, idx_labels(&[1, 2])).unwrap();
    let err = load_idx::<[f32; 9]>(&i, &l, 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: samples are 2×2 (4 values), but the network's input is 9 (9 values)", i.display())
    );
    let missing = load_idx::<[f32; 4]>(&dir.path().join("nope"), &l, 10).unwrap_err();
    assert!(matches!(missing, Error::Io { kind: std::io::ErrorKind::NotFound, .. }), "{missing:?}");
    std::fs::write(&i, [0x1f, 0x8b, 0, 1, 2]).unwrap();
    assert!(problem(load_idx::<[f32; 4]>(&i, &l, 10)).starts_with("corrupt gzip data"));
}

#[test]
fn concatenated_gzip_members_read_as_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx_images(2, 2, 3, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // What `cat a.gz b.gz > c.gz` makes: two members, here splitting the file inside the pixels.
    let mut two = gzip(&bytes[..21]);
    two.extend(gzip(&bytes[21..]));
    let path = dir.path().join("i.gz");
    std::fs::write(&path, &two).unwrap();
    let images = read_idx_images(&path).unwrap();
    assert_eq!((images.count, images.pixels[11]), (2, 12));
    assert_eq!(read_maybe_gzip(&path).unwrap(), bytes);
}

#[test]
fn decompression_stops_at_what_the_header_announces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.gz");
    // Two images announced, then 64 MiB of zeros: a file of about 64 KiB.
    let mut bytes = idx_images(2, 2, 2, &[0; 8]);
    bytes.resize(bytes.len() + (64 << 20), 0);
    let small = gzip(&bytes);
    assert!(small.len() < 100_000, "{}", small.len());
    std::fs::write(&path, small).unwrap();
    assert_eq!(
        problem(read_idx_images(&path)),
        format!("{} bytes after the 2 images of 2×2 the header announces", 64 << 20)
    );
    // A header announcing more than any file may hold is refused before anything is read.
    std::fs::write(&path, gzip(&idx_images(u32::MAX, u32::MAX, 1000, &[]))).unwrap();
    assert!(problem(read_idx_images(&path)).starts_with("impossible dimensions"));
}

#[test]
fn images_must_have_the_networks_shape_not_just_its_pixel_count() {
    let dir = tempfile::tempdir().unwrap();
    let (i, l) = (dir.path().join("i"), dir.path().join("l"));
    std::fs::write(&i, idx_images(1, 14, 56, &[3; 784])).unwrap();
    std::fs::write(&l, idx_labels(&[1])).unwrap();
    let err = load_idx::<[[[f32; 28]; 28]; 1]>(&i, &l, 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: samples are 14×56 (784 values), but the network's input is 1×28×28 (784 values)", i.display())
    );
    assert!(load_idx::<[[f32; 56]; 14]>(&i, &l, 10).is_ok());
    assert!(load_idx::<[[[f32; 56]; 14]; 1]>(&i, &l, 10).is_ok());
    assert!(load_idx::<[f32; 784]>(&i, &l, 10).is_ok(), "a flat input takes any image of 784 pixels");
    assert!(matches!(parse_digits::<[[f32; 16]; 4]>(b"", Path::new("d")), Err(Error::SampleSize { .. })));
}

#[test]
fn settings_errors_name_the_setting_at_fault() {
    let mut d = Dataset::new(vec![[1.0f32; 2]], vec![0usize]).unwrap();
    let err = d.normalize(f32::NAN, 0.3).unwrap_err();
    assert_eq!(err.to_string(), "invalid training setting `mean`: NaN is not a finite number");
    let err = d.normalize(0.1, -1.0).unwrap_err();
    assert_eq!(err.to_string(), "invalid training setting `std`: -1 is not a positive finite number");
    let mut images = vec![[[[0.0f32; 8]; 8]; 1]; 2];
    let augment = Augment::new(1).random_crop(usize::MAX).translate(3);
    assert!(augment.apply(&mut images, [1, 8, 8], &[0, 1], 1).is_err());
    assert!(augment.validate([1, 8, 8]).is_err());
}

#[test]
fn mnist_directory_layout_is_found_with_or_without_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("train-images-idx3-ubyte.gz"), gzip(&idx_images(3, 1, 2, &[1, 2, 3, 4, 5, 6]))).unwrap();
    std::fs::write(d.join("train-labels-idx1-ubyte"), idx_labels(&[0, 1, 2])).unwrap();
    std::fs::write(d.join("t10k-images-idx3-ubyte"), idx_images(1, 1, 2, &[9, 9])).unwrap();
    std::fs::write(d.join("t10k-labels-idx1-ubyte.gz"), gzip(&idx_labels(&[9]))).unwrap();
    let (train, test) = load_mnist::<[f32; 2]>(d).unwrap();
    assert_eq!((train.len(), test.len(), test.targets[0]), (3, 1, 9));
    std::fs::remove_file(d.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = load_mnist::<[f32; 2]>(d).unwrap_err().to_string();
    assert!(err.contains("none of t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz found"), "{err}");
}

fn cifar_record(label: u8, fill: u8) -> Vec<u8> {
    let mut r = vec![label];
    r.extend((0..3072).map(|i| if i < 1024 { fill } else { (i % 256) as u8 }));
    r
}

#[test]
fn cifar_batches_written_by_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let mut batch = cifar_record(3, 255);
    batch.extend(cifar_record(9, 0));
    std::fs::write(dir.path().join("data_batch_1.bin"), &batch).unwrap();
    std::fs::write(dir.path().join("data_batch_2.bin"), cifar_record(1, 10)).unwrap();
    std::fs::write(dir.path().join("test_batch.bin"), cifar_record(0, 0)).unwrap();
    let (train, test) = load_cifar10::<[[[f32; 32]; 32]; 3]>(dir.path()).unwrap();
    assert_eq!(train.targets, [3, 9, 1]);
    assert_eq!(test.len(), 1);
    assert_eq!(train.inputs[0][0][31][31], 1.0, "red plane first");
    assert_eq!(train.inputs[0][1][0][0], (1024 % 256) as f32 / 255.0, "then green");
    let p = Path::new("c");
    assert!(problem(parse_cifar10::<[f32; 3072]>(&batch[..5000], p)).starts_with("truncated: 5000 bytes"));
    let mut bad = cifar_record(10, 0);
    bad.extend(cifar_record(0, 0));
    assert_eq!(problem(parse_cifar10::<[f32; 3072]>(&bad, p)), "label 10 of record 0 is not below 10 classes");
    assert!(matches!(parse_cifar10::<[f32; 784]>(&bad, p), Err(Error::SampleSize { expected: 784, .. })));
}

#[test]
fn digits_csv_values_and_errors() {
    let row =
        |class: u32| (0..64).map(|i| (i % 17).to_string()).chain([class.to_string()]).collect::<Vec<_>>().join(",");
    let text = format!("{}\n{}\n", row(3), row(9));
    let d = parse_digits::<[[f32; 8]; 8]>(text.as_bytes(), Path::new("d")).unwrap();
    assert_eq!(d.targets, [3, 9]);
    assert_eq!(d.inputs[0][2][0], 16.0 / 16.0); // pixel 16
    assert_eq!(d.inputs[1][0][1], 1.0 / 16.0);
    let p = Path::new("d");
    assert_eq!(problem(parse_digits::<[f32; 64]>(b"1,2,3\n", p)), "line 1: 3 fields, expected 64 pixels and a class");
    let bad_class = format!("{}\n{}\n", row(1), row(10));
    assert_eq!(problem(parse_digits::<[f32; 64]>(bad_class.as_bytes(), p)), "line 2: class 10 is outside 0..=9");
    let bad_pixel = row(1).replacen("0,", "17,", 1);
    assert_eq!(problem(parse_digits::<[f32; 64]>(bad_pixel.as_bytes(), p)), "line 1: pixel value 17 is outside 0..=16");
    let word = row(1).replacen("0,", "x,", 1);
    assert_eq!(problem(parse_digits::<[f32; 64]>(word.as_bytes(), p)), "line 1: `x` is not a whole number");
}

#[test]
fn dataset_helpers() {
    let d = Dataset::new(vec![[0.0f32, 2.0], [4.0, 6.0], [8.0, 10.0]], vec![0usize, 2, 1]).unwrap();
    let (mean, std) = d.mean_std();
    assert!((mean - 5.0).abs() < 1e-6 && (std - (35.0f32 / 3.0).sqrt()).abs() < 1e-5);
    let hot = d.one_hot::<3>().unwrap();
    assert_eq!(hot.targets[1], [0.0, 0.0, 1.0]);
    assert!(matches!(d.one_hot::<2>(), Err(Error::LabelOutOfRange { label: 2, index: 1, classes: 2 })));
    let (a, b) = d.clone().split(1);
    assert_eq!((a.len(), b.len(), b.targets[0]), (1, 2, 2));
    let mut n = d.clone();
    n.normalize(5.0, 2.0).unwrap();
    assert_eq!(n.inputs[0], [-2.5, -1.5]);
    assert!(n.normalize(0.0, 0.0).is_err());
    let (mut xs, mut ts) = (Vec::new(), Vec::new());
    d.gather_into(&[2, 0], &mut xs, &mut ts);
    assert_eq!((xs, ts), (vec![[8.0, 10.0], [0.0, 2.0]], vec![1, 0]));
    assert!(Dataset::new(vec![[0.0f32; 2]], vec![1usize, 2]).is_err());
}

/// Random bytes, valid files cut at every length, and valid files with random bytes flipped: every reader must
/// return (Ok or Err) and never panic.
#[test]
fn readers_never_panic_on_random_or_truncated_bytes() {
    let p = Path::new("fuzz");
    let valid: Vec<Vec<u8>> = vec![
        idx_images(3, 4, 4, &[7; 48]),
        idx_labels(&[1, 2, 3]),
        cifar_record(4, 1),
        b"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,0,1,2,3,4,5,6,7,8,9,10,11,12,5\n".to_vec(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (file, zipped) = (dir.path().join("raw"), dir.path().join("zipped"));
    let run = |bytes: &[u8]| {
        let _ = parse_idx_images(bytes, p);
        let _ = parse_idx_labels(bytes, p);
        let _ = parse_cifar10::<[f32; 3072]>(bytes, p);
        let _ = parse_digits::<[f32; 64]>(bytes, p);
        // The streaming readers, raw and through gzip (whose corruptions they meet too).
        std::fs::write(&file, bytes).unwrap();
        std::fs::write(&zipped, gzip(bytes)).unwrap();
        for path in [&file, &zipped] {
            let _ = read_idx_images(path);
            let _ = read_idx_labels(path);
            let _ = read_maybe_gzip(path);
        }
    };
    for v in &valid {
        for cut in 0..=v.len() {
            run(&v[..cut]);
        }
    }
    let mut rng = Rng::new(1, 0);
    // More rounds with `NN_FUZZ_ITERATIONS` (see tests/fuzz.rs at the top of the workspace).
    let rounds = std::env::var("NN_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    for round in 0..rounds {
        let bytes: Vec<u8> = if round % 2 == 0 {
            let len = rng.below(64);
            (0..len).map(|_| rng.below(256) as u8).collect()
        } else {
            let mut v = valid[rng.below(valid.len())].clone();
            if round % 4 == 3 {
                v = gzip(&v);
            }
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(v.len());
                v[i] = rng.below(256) as u8;
            }
            v
        };
        run(&bytes);
    }
    // Headers announcing absurd sizes must not allocate or overflow.
    run(&idx_images(u32::MAX, u32::MAX, u32::MAX, &[]));
}
