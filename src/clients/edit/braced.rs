//! Removing and inserting members of `{ ... }` containers with comma
//! separators: JSON objects, TOML inline tables, YAML flow mappings.
//!
//! Two layouts: one member per line (whole lines go and come, the closing
//! brace on its own line) and inline (members and their separators only).

use super::layout::{Container, Member, reindent};
use super::text::{self, Patch};
use super::{EditError, Format};

/// A braced container with its members' bounds, for one call's edits.
struct Braced<'c, 'a> {
    c: &'c Container<'a>,
    t: &'a str,
    open: usize,
    close: usize,
    /// Start of each member's key and end of its value.
    bounds: Vec<(usize, usize)>,
    removes: &'c [usize],
    inserts: &'c [Member],
}

pub(super) fn plan(
    c: &Container<'_>,
    removes: &[usize],
    inserts: &[Member],
    out: &mut Vec<Patch>,
) -> Result<(), EditError> {
    let span = c
        .node
        .span
        .clone()
        .ok_or_else(|| c.unsupported("the container has no span"))?;
    let bounds = (0..c.entries.len())
        .map(|i| c.bounds(i))
        .collect::<Result<Vec<_>, _>>()?;
    let b = Braced {
        c,
        t: c.doc.text,
        open: span.start,
        close: span.end.saturating_sub(1),
        bounds,
        removes,
        inserts,
    };
    if c.doc.format == Format::Yaml
        && b.n() == 0
        && !inserts.is_empty()
        && let Some(p) = yaml_block_conversion(c, b.open, b.close, inserts)
    {
        out.push(p);
        return Ok(());
    }
    if c.doc.format == Format::Json
        && b.n() == 0
        && removes.is_empty()
        && inserts.iter().any(|m| m.value.contains('\n'))
    {
        out.push(b.opened(inserts));
        return Ok(());
    }
    if b.line_mode() {
        b.lines(out)
    } else {
        b.inline(out)
    }
}

impl Braced<'_, '_> {
    fn n(&self) -> usize {
        self.bounds.len()
    }

    fn removed(&self, i: usize) -> bool {
        self.removes.contains(&i)
    }

    /// An empty container given multi-line members: one member per line,
    /// one indentation step in from the line of its opening brace.
    fn opened(&self, inserts: &[Member]) -> Patch {
        let (c, t) = (self.c, self.t);
        let base = text::indent_of(t, self.open);
        let indent = format!("{base}{}", text::indent_unit(t));
        let mut s = String::from("{");
        for (j, m) in inserts.iter().enumerate() {
            s.push_str(c.doc.nl);
            s.push_str(&indent);
            s.push_str(&m.key);
            s.push_str(c.kv_sep);
            s.push_str(&reindent(&m.value, c.doc.nl, &indent));
            if j + 1 < inserts.len() {
                s.push(',');
            }
        }
        s.push_str(c.doc.nl);
        s.push_str(base);
        s.push('}');
        c.patch(self.open..self.close + 1, s)
    }

    /// The comma right after member `i`, if any.
    fn comma_after(&self, i: usize) -> Option<usize> {
        let p = text::skip_trivia(self.c.doc.format, self.t, self.bounds[i].1);
        (self.t.as_bytes().get(p) == Some(&b',')).then_some(p)
    }

    /// End of the member's line content: after value, comma, comment.
    fn member_eol(&self, i: usize) -> Option<usize> {
        let (f, t) = (self.c.doc.format, self.t);
        let mut p = text::skip_inline_trivia(f, t, self.bounds[i].1);
        if t.as_bytes().get(p) == Some(&b',') {
            p = text::skip_inline_trivia(f, t, p + 1);
        }
        text::at_eol(t, p).then_some(p)
    }

    /// One member per line, the closing brace on its own line.
    fn line_mode(&self) -> bool {
        let own_line =
            |i: usize| text::starts_line(self.t, self.bounds[i].0) && self.member_eol(i).is_some();
        self.t[self.open..self.close].contains('\n')
            && text::starts_line(self.t, self.close)
            && (0..self.n()).all(own_line)
    }

    fn last_kept(&self) -> Option<usize> {
        (0..self.n()).rev().find(|&i| !self.removed(i))
    }

    fn trailing_comma(&self) -> bool {
        self.n() > 0 && self.comma_after(self.n() - 1).is_some()
    }

    /// Line layout: whole lines go and come.
    fn lines(&self, out: &mut Vec<Patch>) -> Result<(), EditError> {
        let (c, t) = (self.c, self.t);
        for &i in self.removes {
            let end = self
                .member_eol(i)
                .ok_or_else(|| c.unsupported("member layout changed"))?;
            out.push(c.patch(
                text::line_start(t, self.bounds[i].0)..text::line_end(t, end),
                String::new(),
            ));
        }
        for (i, &(key, _)) in self.bounds.iter().enumerate() {
            let here: Vec<&Member> = self
                .inserts
                .iter()
                .filter(|m| m.before == Some(i))
                .collect();
            if here.is_empty() {
                continue;
            }
            let indent = text::indent_of(t, key);
            let sep = c.kv_sep_of(i);
            let mut s = String::new();
            for m in here {
                let value = reindent(&m.value, c.doc.nl, indent);
                s.push_str(&format!("{indent}{}{sep}{value},{}", m.key, c.doc.nl));
            }
            let at = text::line_start(t, self.bounds[i].0);
            out.push(c.patch(at..at, s));
        }
        self.lines_tail(out);
        Ok(())
    }

    /// Line layout: members added at the end, and the commas that keep the list valid.
    fn lines_tail(&self, out: &mut Vec<Patch>) {
        let (c, t, n) = (self.c, self.t, self.n());
        let tail: Vec<&Member> = self.inserts.iter().filter(|m| m.before.is_none()).collect();
        let trailing = self.trailing_comma();
        if tail.is_empty() {
            // The new last member must not keep a comma the old last lacked.
            if n > 0
                && self.removed(n - 1)
                && !trailing
                && let Some(k) = self.last_kept()
                && let Some(p) = self.comma_after(k)
            {
                out.push(c.patch(p..p + 1, String::new()));
            }
            return;
        }
        let (indent, sep) = match n.checked_sub(1) {
            Some(l) => (
                text::indent_of(t, self.bounds[l].0).to_owned(),
                c.kv_sep_of(l),
            ),
            None => (
                format!("{}{}", text::indent_of(t, self.close), text::indent_unit(t)),
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
            let value = reindent(&m.value, c.doc.nl, &indent);
            s.push_str(&format!("{indent}{}{sep}{value}{comma}{}", m.key, c.doc.nl));
        }
        let at = text::line_start(t, self.close);
        out.push(c.patch(at..at, s));
        if let Some(k) = self.last_kept()
            && self.comma_after(k).is_none()
        {
            let end = self.bounds[k].1;
            out.push(c.patch(end..end, ",".to_owned()));
        }
    }

    /// The separator between inline members: as the first two are written, else `", "`.
    fn inline_sep(&self) -> &str {
        if self.n() >= 2 {
            let s = &self.t[self.bounds[0].1..self.bounds[1].0];
            if s.trim() == "," && ws_only(&s.replace(',', "")) {
                return s;
            }
        }
        ", "
    }

    fn member(&self, m: &Member, i: Option<usize>) -> String {
        let kv = i.map_or(self.c.kv_sep, |i| self.c.kv_sep_of(i));
        format!("{}{kv}{}", m.key, m.value)
    }

    /// Inline layout: members and their separators only.
    fn inline(&self, out: &mut Vec<Patch>) -> Result<(), EditError> {
        let sep = self.inline_sep();
        let tail: Vec<&Member> = self.inserts.iter().filter(|m| m.before.is_none()).collect();
        self.inline_removals(sep, &tail, out);
        for (i, &(key, _)) in self.bounds.iter().enumerate() {
            let s: String = self
                .inserts
                .iter()
                .filter(|m| m.before == Some(i))
                .map(|m| format!("{}{sep}", self.member(m, Some(i))))
                .collect();
            if !s.is_empty() {
                out.push(self.c.patch(key..key, s));
            }
        }
        if tail.is_empty() {
            return Ok(());
        }
        self.inline_tail(sep, &tail, out)
    }

    /// Inline layout: each run of removed members goes with one separator.
    fn inline_removals(&self, sep: &str, tail: &[&Member], out: &mut Vec<Patch>) {
        let (c, n, bounds) = (self.c, self.n(), &self.bounds);
        let mut i = 0;
        while i < n {
            if !self.removed(i) {
                i += 1;
                continue;
            }
            let a = i;
            while i < n && self.removed(i) {
                i += 1;
            }
            let b = i - 1;
            if i < n {
                out.push(c.patch(bounds[a].0..bounds[i].0, String::new()));
            } else if a > 0 {
                out.push(c.patch(bounds[a - 1].1..bounds[b].1, String::new()));
            } else {
                // Every member goes: keep the padding after `{`.
                let pad = &self.t[self.open + 1..bounds[0].0];
                let body: Vec<String> = tail
                    .iter()
                    .map(|m| self.member(m, n.checked_sub(1)))
                    .collect();
                let text = if body.is_empty() {
                    String::new()
                } else if ws_only(pad) {
                    format!("{}{pad}", body.join(sep))
                } else {
                    body.join(sep)
                };
                out.push(c.patch(bounds[0].0..self.close, text));
            }
        }
    }

    /// Inline layout: members added at the end.
    fn inline_tail(
        &self,
        sep: &str,
        tail: &[&Member],
        out: &mut Vec<Patch>,
    ) -> Result<(), EditError> {
        match self.last_kept() {
            Some(k) => {
                let s: String = tail
                    .iter()
                    .map(|m| format!("{sep}{}", self.member(m, Some(k))))
                    .collect();
                out.push(self.c.patch(self.bounds[k].1..self.bounds[k].1, s));
            }
            None if self.n() > 0 => {} // written with the removals
            None => {
                let interior = &self.t[self.open + 1..self.close];
                if !ws_only(interior) {
                    return Err(self.c.unsupported("the empty container holds comments"));
                }
                let body: Vec<String> = tail.iter().map(|m| self.member(m, None)).collect();
                out.push(self.c.patch(
                    self.open + 1..self.close,
                    format!("{interior}{}{interior}", body.join(sep)),
                ));
            }
        }
        Ok(())
    }
}

fn ws_only(s: &str) -> bool {
    !s.contains('\n') && s.bytes().all(|b| b == b' ' || b == b'\t')
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
