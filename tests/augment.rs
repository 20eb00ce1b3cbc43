//! Image augmentation: shapes and labels kept, each transformation exact where it can be, reproducible from the
//! seed, new every epoch, and applied by `fit`.

use nn::prelude::*;
use nn::Error;

type Image = [[[f32; 6]; 6]; 2];

/// A distinct value per pixel (1-based, so 0 means "came from outside").
fn numbered() -> Image {
    std::array::from_fn(|c| std::array::from_fn(|y| std::array::from_fn(|x| (c * 36 + y * 6 + x + 1) as f32)))
}

#[test]
fn flips_mirror_rows_and_keep_the_shape() {
    let augment = Augment::new(0).horizontal_flip();
    let mut images = vec![numbered(); 64];
    let indices: Vec<usize> = (0..64).collect();
    augment.apply(&mut images, [2, 6, 6], &indices, 1).unwrap();
    let original = numbered();
    let mut mirrored = original;
    mirrored.iter_mut().for_each(|plane| plane.iter_mut().for_each(|row| row.reverse()));
    let flipped = images.iter().filter(|i| **i == mirrored).count();
    let kept = images.iter().filter(|i| **i == original).count();
    assert_eq!(flipped + kept, 64, "every image is either mirrored exactly or untouched");
    assert!((20..=44).contains(&flipped), "about half are flipped: {flipped}");
}

#[test]
fn translations_and_crops_shift_whole_pixels_with_zero_fill() {
    for augment in [Augment::new(3).translate(2), Augment::new(3).random_crop(2)] {
        let mut images = vec![numbered(); 32];
        let indices: Vec<usize> = (100..132).collect();
        augment.apply(&mut images, [2, 6, 6], &indices, 4).unwrap();
        let original = numbered();
        for image in &images {
            // Find the shift from one surviving pixel, then check every pixel against it.
            let shift = (-2i32..=2).flat_map(|dy| (-2i32..=2).map(move |dx| (dy, dx))).find(|&(dy, dx)| {
                (0..2).all(|c| {
                    (0..6).all(|y| {
                        (0..6).all(|x| {
                            let (sy, sx) = (y as i32 - dy, x as i32 - dx);
                            let want = if (0..6).contains(&sy) && (0..6).contains(&sx) {
                                original[c][sy as usize][sx as usize]
                            } else {
                                0.0
                            };
                            image[c][y][x] == want
                        })
                    })
                })
            });
            assert!(shift.is_some(), "not a whole-pixel shift of the original: {image:?}");
        }
        assert!(images.iter().any(|i| *i != original), "some images move");
    }
    // With a fill value, uncovered pixels take it.
    let mut images = vec![numbered(); 16];
    Augment::new(3).translate(2).fill(-7.0).apply(&mut images, [2, 6, 6], &(0..16).collect::<Vec<_>>(), 0).unwrap();
    let moved = images.iter().find(|i| **i != numbered()).expect("some image moved");
    assert!(moved.iter().flatten().flatten().any(|&v| v == -7.0));
    assert!(moved.iter().flatten().flatten().all(|&v| v == -7.0 || v >= 1.0));
}

#[test]
fn rotations_turn_about_the_centre() {
    // A horizontal bar through the centre of an odd-sized image turns into a tilted bar: the centre stays lit,
    // the total brightness roughly stays, and a 90° limit can stand the bar upright.
    let mut bar = [[[0.0f32; 7]; 7]; 1];
    bar[0][3] = [1.0; 7];
    let augment = Augment::new(1).rotate(30.0);
    let mut images = vec![bar; 16];
    augment.apply(&mut images, [1, 7, 7], &(0..16).collect::<Vec<_>>(), 0).unwrap();
    for image in &images {
        assert!((image[0][3][3] - 1.0).abs() < 1e-6, "the centre is fixed");
        let total: f32 = image[0].iter().flatten().sum();
        assert!((5.0..=8.0).contains(&total), "brightness {total}");
    }
    assert!(images.iter().any(|i| i[0][0][3] == 0.0 && i[0] != bar[0]), "some are tilted");
}

#[test]
fn reproducible_from_the_seed_new_each_epoch_independent_of_batching() {
    let augment = Augment::new(9).random_crop(1).horizontal_flip().translate(1).rotate(15.0);
    let indices: Vec<usize> = (0..20).collect();
    let run = |epoch, seed| {
        let mut images = vec![numbered(); 20];
        Augment { seed, ..augment }.apply(&mut images, [2, 6, 6], &indices, epoch).unwrap();
        images
    };
    assert_eq!(run(1, 9), run(1, 9));
    assert_ne!(run(1, 9), run(2, 9));
    assert_ne!(run(1, 9), run(1, 10));
    // Sample 7 gets the same transformation in a batch of its own.
    let mut alone = vec![numbered()];
    augment.apply(&mut alone, [2, 6, 6], &[7], 1).unwrap();
    assert_eq!(alone[0], run(1, 9)[7]);
}

#[test]
fn impossible_settings_are_errors() {
    let mut images = vec![numbered(); 2];
    let err = Augment::new(0).translate(6).apply(&mut images, [2, 6, 6], &[0, 1], 0).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "augment", .. }), "{err}");
    assert!(Augment::new(0).rotate(f32::NAN).apply(&mut images, [2, 6, 6], &[0, 1], 0).is_err());
    assert!(Augment::new(0).apply(&mut images, [1, 6, 6], &[0, 1], 0).is_err(), "shape must match");
    assert!(Augment::new(0).apply(&mut images, [2, 6, 6], &[0], 0).is_err(), "one index per image");
}

network! {
    struct Tiny {
        Input<2, 6, 6> -> Flatten -> Linear<72, 2>
    }
}

network! {
    struct Flat {
        Input<72> -> Linear<72, 2>
    }
}

#[test]
fn fit_augments_training_batches_and_keeps_labels() {
    // Class 1 is bright on the left half, class 0 on the right; flips would swap them, translations do not.
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    for i in 0..64 {
        let mut image = [[[0.0f32; 6]; 6]; 2];
        let left = i % 2 == 1;
        for plane in &mut image {
            for row in plane.iter_mut() {
                for (x, v) in row.iter_mut().enumerate() {
                    *v = if (x < 3) == left { 1.0 } else { 0.0 };
                }
            }
        }
        inputs.push(image);
        targets.push(usize::from(left));
    }
    let data = Dataset::new(inputs, targets.clone()).unwrap();
    let config = |augment| TrainConfig {
        epochs: 20,
        batch_size: 16,
        augment: Some(augment),
        verbose: false,
        progress: false,
        ..Default::default()
    };
    let mut net = Tiny::new(1);
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    let history =
        fit(&mut net, &mut sgd, &CrossEntropy, &data, Some(&data), &config(Augment::new(2).translate(1))).unwrap();
    assert_eq!(history.last().unwrap().valid_accuracy, Some(1.0));
    assert_eq!(data.targets, targets, "labels untouched");

    let mut flat = Flat::new(0);
    let flat_data = Dataset::new(vec![[0.0; 72]; 4], vec![0, 1, 0, 1]).unwrap();
    let err = fit(&mut flat, &mut sgd, &CrossEntropy, &flat_data, None, &config(Augment::new(0).horizontal_flip()))
        .unwrap_err();
    assert!(err.to_string().contains("augmentation transforms images"), "{err}");
}
