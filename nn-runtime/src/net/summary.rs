//! The text table of a network's layers (`Network::summary`).

use super::Network;

/// The layers of `N` as a table — output shapes, parameters and forward multiply-adds — followed by its totals
/// and memory figures. A layer inside blocks is indented under them, each block on a row of its own where it
/// begins (`layer2: Residual { … }`, `shortcut`, `blocks: Repeat<4> { … } — copy 1`).
pub fn table<N: Network>() -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for l in N::LAYERS {
        let outer = l.depth + 1 - l.blocks.len().min(l.depth + 1);
        for (i, block) in l.blocks.iter().enumerate() {
            let blank = String::new;
            rows.push([blank(), format!("{}{block}", "  ".repeat(outer + i)), blank(), blank(), blank()]);
        }
        let shape = l
            .output_shape
            .iter()
            .map(|&d| if d == 0 { "T".to_string() } else { d.to_string() })
            .collect::<Vec<_>>()
            .join("×");
        let declaration = format!("{}{}", "  ".repeat(l.depth), l.declaration);
        // A layer without a field is told by its declaration: its would-be name may be a block's (`layer2`).
        let name = if l.field { l.name.to_string() } else { String::new() };
        rows.push([name, declaration, shape, l.params.to_string(), l.forward_macs.to_string()]);
    }
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
