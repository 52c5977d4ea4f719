/// The candidate closest to `word` (edit distance at most 2, or a third of its length), as
/// ` (did you mean `x`?)` for the end of an error message; empty when none is close.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min();
    best.map(|(_, c)| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_close_candidates() {
        assert_eq!(did_you_mean("peroid", ["period", "input"]), " (did you mean `period`?)");
        assert_eq!(did_you_mean("hiden", ["hidden", "head"]), " (did you mean `hidden`?)");
        assert_eq!(did_you_mean("xyz", ["period"]), "");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
