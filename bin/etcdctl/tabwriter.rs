//! Go's `text/tabwriter` as etcdctl configures it for usage text
//! (minwidth 0, tabwidth 8, padding 1, padchar '\t', no flags).
//!
//! Cells end at '\t'; a column block is a run of consecutive lines that have
//! a cell in that column; each cell of a block is padded with tabs to the
//! block's widest cell + 1, rounded up to a multiple of 8. A line without
//! any tab ends all blocks (Go flushes there).

const TAB_WIDTH: usize = 8;
const PADDING: usize = 1;

/// Aligns `text` like Go's tabwriter would.
pub fn align(text: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<Vec<&str>> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len() - 1;
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<&str> = line.split('\t').collect();
        if i == last {
            // Text after the final newline (normally empty).
            pending.push(cells);
            format_block(&pending, &mut out, false);
            pending.clear();
            break;
        }
        let single = cells.len() == 1;
        pending.push(cells);
        if single {
            format_block(&pending, &mut out, true);
            pending.clear();
        }
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn format_block(lines: &[Vec<&str>], out: &mut String, newline_after_last: bool) {
    let mut widths = Vec::new();
    let mut rendered = String::new();
    format(lines, 0, lines.len(), &mut widths, &mut rendered);
    if !newline_after_last {
        // The final (unterminated) line has no trailing newline.
        if rendered.ends_with('\n') {
            rendered.pop();
        }
    }
    out.push_str(&rendered);
}

fn format(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut w = 0;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + PADDING);
            this += 1;
        }
        widths.push(w);
        format(lines, line0, this, widths, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for cells in &lines[from..to] {
        for (j, c) in cells.iter().enumerate() {
            out.push_str(c);
            if j + 1 < cells.len() && j < widths.len() {
                let cellw = widths[j].div_ceil(TAB_WIDTH) * TAB_WIDTH;
                let n = cellw - width(c);
                for _ in 0..n.div_ceil(TAB_WIDTH) {
                    out.push('\t');
                }
            } else if j + 1 < cells.len() {
                out.push('\t');
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_with_tabs() {
        let t = "\ta\tx\n\tlonger-name\ty\nplain\n";
        assert_eq!(align(t), "\ta\t\tx\n\tlonger-name\ty\nplain\n");
    }
}
