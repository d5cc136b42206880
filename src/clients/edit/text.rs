//! Byte-level helpers: BOM, line endings, lines, indentation, trivia, splicing.

use std::ops::Range;

use super::{EditError, Format};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Splits a leading UTF-8 BOM off and checks the rest is UTF-8.
pub(super) fn split_bom(bytes: &[u8]) -> Result<(&[u8], &str), EditError> {
    let (bom, rest) = match bytes.strip_prefix(BOM) {
        Some(rest) => (BOM, rest),
        None => (&bytes[..0], bytes),
    };
    let text = std::str::from_utf8(rest).map_err(|_| EditError::NotUtf8)?;
    Ok((bom, text))
}

/// The file's line ending: CRLF when its first line ends so, else LF.
pub(super) fn newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Offset of the first byte of the line holding `pos`.
pub(super) fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just past the line ending of the line holding `pos` (or the end).
pub(super) fn line_end(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// Whether the line holding `pos` has a line ending.
pub(super) fn has_newline_after(text: &str, pos: usize) -> bool {
    text[pos..].contains('\n')
}

/// The whitespace that opens the line holding `pos`.
pub(super) fn indent_of(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let line = &text[start..];
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

/// Whether only spaces/tabs precede `pos` on its line.
pub(super) fn starts_line(text: &str, pos: usize) -> bool {
    text[line_start(text, pos)..pos]
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
}

/// The document's indentation step: the leading whitespace of the first
/// indented line (a tab, or N spaces), two spaces if none.
pub(super) fn indent_unit(text: &str) -> String {
    for line in text.lines() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.len() == line.len() {
            continue;
        }
        let lead = &line[..line.len() - trimmed.len()];
        if lead.starts_with('\t') {
            return "\t".to_owned();
        }
        return " ".repeat(lead.len().min(8));
    }
    "  ".to_owned()
}

/// Skips whitespace (incl. line breaks) and comments from `pos`; returns the
/// offset of the next significant byte (or the end).
pub(super) fn skip_trivia(format: Format, text: &str, mut pos: usize) -> usize {
    let b = text.as_bytes();
    while pos < b.len() {
        match b[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'#' if format != Format::Json => pos = line_content_end(text, pos),
            b'/' if format == Format::Json && b.get(pos + 1) == Some(&b'/') => {
                pos = line_content_end(text, pos);
            }
            b'/' if format == Format::Json && b.get(pos + 1) == Some(&b'*') => {
                pos = text[pos + 2..]
                    .find("*/")
                    .map_or(b.len(), |i| pos + 2 + i + 2);
            }
            _ => break,
        }
    }
    pos
}

/// Skips spaces, tabs and comments on the current line only; returns the
/// offset of the next significant byte, the `\r`/`\n` ending the line, or the end.
pub(super) fn skip_inline_trivia(format: Format, text: &str, mut pos: usize) -> usize {
    let b = text.as_bytes();
    while pos < b.len() {
        match b[pos] {
            b' ' | b'\t' => pos += 1,
            b'#' if format != Format::Json => pos = line_content_end(text, pos),
            b'/' if format == Format::Json && b.get(pos + 1) == Some(&b'/') => {
                pos = line_content_end(text, pos);
            }
            b'/' if format == Format::Json && b.get(pos + 1) == Some(&b'*') => {
                match text[pos + 2..].find("*/") {
                    Some(i) if !text[pos..pos + 2 + i].contains('\n') => pos = pos + 2 + i + 2,
                    _ => break,
                }
            }
            _ => break,
        }
    }
    pos
}

/// Offset of the `\r\n` or `\n` that ends the line holding `pos` (or the end).
fn line_content_end(text: &str, pos: usize) -> usize {
    let nl = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    if nl > pos && text.as_bytes()[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    }
}

/// Whether `pos` is at a line ending or the end of the text.
pub(super) fn at_eol(text: &str, pos: usize) -> bool {
    matches!(text.as_bytes().get(pos), None | Some(b'\n') | Some(b'\r'))
}

/// One replacement of the original text.
#[derive(Debug)]
pub(super) struct Patch {
    pub range: Range<usize>,
    pub text: String,
    /// The pointer of the edit this came from (for errors).
    pub pointer: String,
}

/// Applies `patches` (ranges in the original `text`) in one pass over it.
/// Insertions at one offset keep their planned order and come before a
/// replacement starting there; any overlap is refused.
pub(super) fn splice(text: &str, mut patches: Vec<Patch>) -> Result<String, EditError> {
    // Stable sort: equal starts keep plan order; pure insertions go first.
    patches.sort_by_key(|p| (p.range.start, !p.range.is_empty()));
    for pair in patches.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let overlap = b.range.start < a.range.end
            || (!a.range.is_empty() && !b.range.is_empty() && b.range.start == a.range.start);
        if overlap {
            return Err(EditError::Overlap {
                pointer: b.pointer.clone(),
            });
        }
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for p in &patches {
        if p.range.end > text.len() || p.range.start < at {
            return Err(EditError::Overlap {
                pointer: p.pointer.clone(),
            });
        }
        out.push_str(&text[at..p.range.start]);
        out.push_str(&p.text);
        at = p.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}
