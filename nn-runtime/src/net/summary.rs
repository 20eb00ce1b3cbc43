//! The text table of a network's layers (`Network::summary`).

use super::Network;

/// The layers of `N` as a table — output shapes, parameters and forward multiply-adds — followed by its totals
/// and memory figures.
pub fn table<N: Network>() -> String {
    let rows: Vec<[String; 5]> = N::LAYERS
        .iter()
        .map(|l| {
            let shape = l
                .output_shape
                .iter()
                .map(|&d| if d == 0 { "T".to_string() } else { d.to_string() })
                .collect::<Vec<_>>()
                .join("×");
            [l.name.to_string(), l.declaration.to_string(), shape, l.params.to_string(), l.forward_macs.to_string()]
        })
        .collect();
    let header = ["layer", "declaration", "output", "params", "MACs"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w - c.chars().count());
                if i >= 3 {
                    format!("{pad}{c}")
                } else {
                    format!("{c}{pad}")
                }
            })
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    let mut out = line(&header);
    for row in &rows {
        out.push('\n');
        out.push_str(&line(row));
    }
    out.push_str(&format!(
        "\ntotal parameters: {}\nmultiply-adds per sample: {} forward, {} per training step\nbytes: {} of weights, \
         {} of activations per sample in inference, {} in training, {} for forward_static",
        N::PARAMS,
        N::FORWARD_MACS,
        N::TRAIN_MACS,
        N::PARAM_BYTES,
        N::INFER_ACTIVATION_BYTES,
        N::TRAIN_ACTIVATION_BYTES,
        N::STATIC_BYTES
    ));
    out
}
