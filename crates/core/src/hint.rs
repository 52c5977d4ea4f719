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

/// Edit distance by characters, a swap of two neighbours counting as one edit (optimal
/// string alignment): `lsmt` is one edit from `lstm`, as close as a typo gets.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
        assert_eq!(edit_distance("lsmt", "lstm"), 1);
        let layers = ["lstm", "gru", "dense", "last", "mean"];
        assert_eq!(did_you_mean("lsmt", layers), " (did you mean `lstm`?)");
    }
}
