//! `scan_value`: runs the detectors that apply to one value of a given
//! field kind and merges their hits (typed formats first, then URL
//! credentials, then name heuristics; overlapping hits keep the strongest).

use std::ops::Range;

use super::{Detector, Field, Hit, header, heuristic, json, reference, rules, url};

/// Plaintext secrets in `value`, a value of `field`'s kind.
pub(super) fn scan(field: Field<'_>, value: &str) -> Vec<Hit> {
    // `${VAR:-default}`: the variable is a reference, the default may not be.
    if let Some(r) = reference::env_default(value) {
        let start = r.start;
        return scan(field, &value[r])
            .into_iter()
            .map(|h| shift(h, start))
            .collect();
    }
    if reference::whole(value).is_some() {
        return Vec::new();
    }
    let mut hits = rules::find(value);
    hits.extend(url::scan_text(value));
    hits.extend(json::scan(value));
    match field {
        Field::Env { name } | Field::Credential { key: name } => {
            hits.extend(match reference::split_auth_scheme(value) {
                // `Bearer V` is a credential whatever the variable is called.
                Some((scheme, r)) if matches!(scheme.as_str(), "bearer" | "basic" | "token") => {
                    heuristic::judge_as(
                        name,
                        value,
                        r,
                        (
                            "http-authorization",
                            "Credential in an Authorization header",
                        ),
                    )
                }
                Some((_, r)) => heuristic::judge(name, value, r),
                None => heuristic::judge(name, value, 0..value.len()),
            });
        }
        Field::Header { name } => hits.extend(header::scan(name, value)),
        Field::Url => {}
    }
    merge(hits)
}

/// Moves a hit found in a substring starting at `offset`.
pub(super) fn shift(mut h: Hit, offset: usize) -> Hit {
    h.range = h.range.start + offset..h.range.end + offset;
    h
}

/// Keeps the strongest of overlapping hits: a format beats a URL credential,
/// which beats a name heuristic; then the longer one wins. Sorted by start.
pub(super) fn merge(mut hits: Vec<Hit>) -> Vec<Hit> {
    let rank = |d: Detector| match d {
        Detector::Format => 0u8,
        Detector::Url => 1,
        Detector::Heuristic => 2,
    };
    hits.sort_by_key(|h| (rank(h.detector), std::cmp::Reverse(h.range.len())));
    let mut kept: Vec<Hit> = Vec::new();
    for h in hits {
        if h.range.is_empty() {
            continue;
        }
        if !kept.iter().any(|k| rules::overlaps(&k.range, &h.range)) {
            kept.push(h);
        }
    }
    kept.sort_by_key(|h| h.range.start);
    kept
}

/// The range of `value` without surrounding whitespace.
pub(super) fn trimmed(value: &str) -> Range<usize> {
    let lead = value.len() - value.trim_start().len();
    lead..value.trim_end().len().max(lead)
}
