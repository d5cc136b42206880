//! Removing and inserting members of `{ ... }` containers with comma
//! separators: JSON objects, TOML inline tables, YAML flow mappings.
//!
//! Two layouts: one member per line (whole lines go and come, the closing
//! brace on its own line) and inline (members and their separators only).

use super::layout::{Container, Member};
use super::text::{self, Patch};
use super::{EditError, Format};

pub(super) fn plan(
    c: &Container<'_>,
    removes: &[usize],
    inserts: &[Member],
    out: &mut Vec<Patch>,
) -> Result<(), EditError> {
    let t = c.doc.text;
    let span = c
        .node
        .span
        .clone()
        .ok_or_else(|| c.unsupported("the container has no span"))?;
    let open = span.start;
    let close = span.end.saturating_sub(1);
    let n = c.entries.len();
    let mut bounds = Vec::with_capacity(n);
    for i in 0..n {
        bounds.push(c.bounds(i)?);
    }
    let comma_after = |i: usize| -> Option<usize> {
        let p = text::skip_trivia(c.doc.format, t, bounds[i].1);
        (t.as_bytes().get(p) == Some(&b',')).then_some(p)
    };
    // End of the member's line content: after value, comma, comment.
    let member_eol = |i: usize| -> Option<usize> {
        let mut p = text::skip_inline_trivia(c.doc.format, t, bounds[i].1);
        if t.as_bytes().get(p) == Some(&b',') {
            p = text::skip_inline_trivia(c.doc.format, t, p + 1);
        }
        text::at_eol(t, p).then_some(p)
    };
    let own_line = |i: usize| text::starts_line(t, bounds[i].0) && member_eol(i).is_some();
    let multiline = t[open..close].contains('\n');
    let line_mode = multiline && text::starts_line(t, close) && (0..n).all(own_line);
    let removed = |i: usize| removes.contains(&i);
    let last_kept = (0..n).rev().find(|&i| !removed(i));
    let trailing = n > 0 && comma_after(n - 1).is_some();

    if c.doc.format == Format::Yaml
        && n == 0
        && !inserts.is_empty()
        && let Some(p) = yaml_block_conversion(c, open, close, inserts)
    {
        out.push(p);
        return Ok(());
    }

    if line_mode {
        for &i in removes {
            let end = member_eol(i).ok_or_else(|| c.unsupported("member layout changed"))?;
            out.push(c.patch(
                text::line_start(t, bounds[i].0)..text::line_end(t, end),
                String::new(),
            ));
        }
        for (i, &(key, _)) in bounds.iter().enumerate() {
            let here: Vec<&Member> = inserts.iter().filter(|m| m.before == Some(i)).collect();
            if here.is_empty() {
                continue;
            }
            let indent = text::indent_of(t, key);
            let sep = c.kv_sep_of(i);
            let mut s = String::new();
            for m in here {
                s.push_str(&format!("{indent}{}{sep}{},{}", m.key, m.value, c.doc.nl));
            }
            let at = text::line_start(t, bounds[i].0);
            out.push(c.patch(at..at, s));
        }
        let tail: Vec<&Member> = inserts.iter().filter(|m| m.before.is_none()).collect();
        if !tail.is_empty() {
            let (indent, sep) = match n.checked_sub(1) {
                Some(l) => (text::indent_of(t, bounds[l].0).to_owned(), c.kv_sep_of(l)),
                None => (
                    format!("{}{}", text::indent_of(t, close), text::indent_unit(t)),
                    c.kv_sep,
                ),
            };
            let mut s = String::new();
            for (j, m) in tail.iter().enumerate() {
                let comma = if j + 1 < tail.len() || trailing {
                    ","
                } else {
                    ""
                };
                s.push_str(&format!(
                    "{indent}{}{sep}{}{comma}{}",
                    m.key, m.value, c.doc.nl
                ));
            }
            let at = text::line_start(t, close);
            out.push(c.patch(at..at, s));
            if let Some(k) = last_kept
                && comma_after(k).is_none()
            {
                let end = bounds[k].1;
                out.push(c.patch(end..end, ",".to_owned()));
            }
        } else if n > 0 && removed(n - 1) && !trailing {
            // The new last member must not keep a comma the old last lacked.
            if let Some(k) = last_kept
                && let Some(p) = comma_after(k)
            {
                out.push(c.patch(p..p + 1, String::new()));
            }
        }
        return Ok(());
    }

    // Inline layout.
    let ws_only = |s: &str| !s.contains('\n') && s.bytes().all(|b| b == b' ' || b == b'\t');
    let sep = if n >= 2 {
        let s = &t[bounds[0].1..bounds[1].0];
        if s.trim() == "," && ws_only(&s.replace(',', "")) {
            s
        } else {
            ", "
        }
    } else {
        ", "
    };
    let member = |m: &Member, i: Option<usize>| {
        let kv = i.map_or(c.kv_sep, |i| c.kv_sep_of(i));
        format!("{}{kv}{}", m.key, m.value)
    };
    let tail: Vec<&Member> = inserts.iter().filter(|m| m.before.is_none()).collect();
    let mut i = 0;
    while i < n {
        if !removed(i) {
            i += 1;
            continue;
        }
        let a = i;
        while i < n && removed(i) {
            i += 1;
        }
        let b = i - 1;
        if i < n {
            out.push(c.patch(bounds[a].0..bounds[i].0, String::new()));
        } else if a > 0 {
            out.push(c.patch(bounds[a - 1].1..bounds[b].1, String::new()));
        } else {
            // Every member goes: keep the padding after `{`.
            let pad = &t[open + 1..bounds[0].0];
            let body: Vec<String> = tail.iter().map(|m| member(m, n.checked_sub(1))).collect();
            let text = if body.is_empty() {
                String::new()
            } else if ws_only(pad) {
                format!("{}{pad}", body.join(sep))
            } else {
                body.join(sep)
            };
            out.push(c.patch(bounds[0].0..close, text));
        }
    }
    for (i, &(key, _)) in bounds.iter().enumerate() {
        let s: String = inserts
            .iter()
            .filter(|m| m.before == Some(i))
            .map(|m| format!("{}{sep}", member(m, Some(i))))
            .collect();
        if !s.is_empty() {
            out.push(c.patch(key..key, s));
        }
    }
    if tail.is_empty() {
        return Ok(());
    }
    match last_kept {
        Some(k) => {
            let s: String = tail
                .iter()
                .map(|m| format!("{sep}{}", member(m, Some(k))))
                .collect();
            out.push(c.patch(bounds[k].1..bounds[k].1, s));
        }
        None if n > 0 => {} // written with the removal above
        None => {
            let interior = &t[open + 1..close];
            if !ws_only(interior) {
                return Err(c.unsupported("the empty container holds comments"));
            }
            let body: Vec<String> = tail.iter().map(|m| member(m, None)).collect();
            out.push(c.patch(
                open + 1..close,
                format!("{interior}{}{interior}", body.join(sep)),
            ));
        }
    }
    Ok(())
}

/// YAML `key: {}` inside a block mapping gets its new members as a block
/// mapping (the inverse of removing the last member of one).
fn yaml_block_conversion(
    c: &Container<'_>,
    open: usize,
    close: usize,
    inserts: &[Member],
) -> Option<Patch> {
    let t = c.doc.text;
    if !t[open + 1..close].trim().is_empty() || !c.node.parent_block {
        return None;
    }
    let before = t[..open].trim_end_matches([' ', '\t']);
    if !before.ends_with(':') {
        return None;
    }
    let colon_end = before.len();
    let indent = format!("{}{}", text::indent_of(t, open), text::indent_unit(t));
    let mut s = String::new();
    for m in inserts {
        s.push_str(c.doc.nl);
        s.push_str(&format!("{indent}{}: {}", m.key, m.value));
    }
    Some(c.patch(colon_end..close + 1, s))
}
