//! Randomness measures over a candidate's bytes: Shannon entropy, character
//! classes, ascending/descending runs and repetition.
//!
//! Pure functions on bytes; they decide nothing on their own (see
//! `placeholder` for the gates built on them).

/// Shannon entropy in bits per byte.
pub(super) fn shannon(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Which character classes occur: lower, upper, digit, other (0..=4).
pub(super) fn class_count(s: &[u8]) -> u8 {
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for &b in s {
        match b {
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' => digit = true,
            _ => other = true,
        }
    }
    [lower, upper, digit, other].iter().filter(|&&x| x).count() as u8
}

/// Length of the longest run of alphanumerics that step by +1 or -1
/// (`0123456`, `abcdef`, `987654`).
pub(super) fn longest_sequence(s: &[u8]) -> usize {
    let mut best = usize::from(!s.is_empty());
    let (mut up, mut down) = (1usize, 1usize);
    for w in s.windows(2) {
        let (a, b) = (w[0], w[1]);
        let alnum = a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric();
        up = if alnum && b.wrapping_sub(a) == 1 {
            up + 1
        } else {
            1
        };
        down = if alnum && a.wrapping_sub(b) == 1 {
            down + 1
        } else {
            1
        };
        best = best.max(up).max(down);
    }
    best
}

/// Whether `s` is a short unit repeated at least three times (`abc123abc123abc123`),
/// possibly with a partial unit at the end.
pub(super) fn is_periodic(s: &[u8]) -> bool {
    let n = s.len();
    if n < 6 {
        return false;
    }
    (1..=n / 3).any(|p| (p..n).all(|i| s[i] == s[i - p]))
}

/// Share of the most frequent byte (0.0..=1.0).
pub(super) fn dominant_share(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    f64::from(max) / s.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_constant() {
        assert_eq!(shannon(b""), 0.0);
        assert_eq!(shannon(b"aaaa"), 0.0);
        assert!((shannon(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn classes() {
        assert_eq!(class_count(b"abc"), 1);
        assert_eq!(class_count(b"aB1-"), 4);
        assert_eq!(class_count(b""), 0);
    }

    #[test]
    fn sequences_and_periods() {
        assert_eq!(longest_sequence(b"x0123456y"), 7);
        assert_eq!(longest_sequence(b"zyxwv"), 5);
        assert_eq!(longest_sequence(b"a"), 1);
        assert!(is_periodic(b"abc123abc123abc123a"));
        assert!(!is_periodic(b"abc123abc124abc1"));
        assert!((dominant_share(b"aaab") - 0.75).abs() < 1e-9);
    }
}
