//! What an `op://` reference addresses, checked before anything runs:
//! 1Password's own secret reference syntax, `op://VAULT/ITEM[/SECTION]/FIELD`
//! (FIELD may name a file attachment), its `?attribute=` query, and our
//! `?via=connect|cli`.
//!
//! Names are kept as written (spaces included; 1Password matches them without
//! regard to case); any of them may be an ID instead. Must not do I/O.

use std::fmt;

/// Parameters an `op://` reference may carry.
pub(crate) const PARAMS: &[&str] = &["attribute", "via", "ssh-format"];

/// How 1Password is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Via {
    /// A 1Password Connect server (`OP_CONNECT_HOST`, `OP_CONNECT_TOKEN`).
    Connect,
    /// The `op` CLI (a service account token or the desktop app).
    Cli,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Via::Connect => "connect",
            Via::Cli => "cli",
        })
    }
}

/// One item: what a single request fetches, however many fields are wanted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ItemKey {
    pub vault: String,
    pub item: String,
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op://{}/{}", self.vault, self.item)
    }
}

/// Which part of a field or file is wanted (`?attribute=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    /// A field's value or a file's content: the default.
    Value,
    Type,
    Id,
    Label,
    Purpose,
    /// The current one-time password of an OTP field.
    Otp,
    /// A file's content (`content`), name and size.
    Content,
    Name,
    Size,
}

impl Attribute {
    fn parse(text: &str) -> Option<Attribute> {
        Some(match text.to_ascii_lowercase().as_str() {
            "value" => Attribute::Value,
            "type" => Attribute::Type,
            "id" => Attribute::Id,
            "label" | "title" => Attribute::Label,
            "purpose" => Attribute::Purpose,
            "otp" | "totp" => Attribute::Otp,
            "content" => Attribute::Content,
            "name" => Attribute::Name,
            "size" => Attribute::Size,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::Value => "value",
            Attribute::Type => "type",
            Attribute::Id => "id",
            Attribute::Label => "label",
            Attribute::Purpose => "purpose",
            Attribute::Otp => "otp",
            Attribute::Content => "content",
            Attribute::Name => "name",
            Attribute::Size => "size",
        }
    }
}

/// A checked reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub key: ItemKey,
    pub section: Option<String>,
    /// A field's label or ID, or a file's name or ID.
    pub field: String,
    pub attribute: Attribute,
    /// `?via=`; `None` chooses by the environment.
    pub via: Option<Via>,
}

impl Target {
    /// The reference as 1Password writes it, for `op read` (no `via`).
    pub fn op_reference(&self) -> String {
        let mut s = format!("op://{}/{}/", self.key.vault, self.key.item);
        if let Some(sec) = &self.section {
            s.push_str(sec);
            s.push('/');
        }
        s.push_str(&self.field);
        if self.attribute != Attribute::Value {
            s.push_str("?attribute=");
            s.push_str(self.attribute.as_str());
        }
        s
    }
}

/// Reads a location (`VAULT/ITEM[/SECTION]/FIELD`, percent-decoded) and parameters.
pub(crate) fn parse(location: &str, params: &[(String, String)]) -> Result<Target, String> {
    let parts: Vec<&str> = location.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) || !(3..=4).contains(&parts.len()) {
        return Err(
            "write op://VAULT/ITEM/FIELD or op://VAULT/ITEM/SECTION/FIELD (a name with a '/' \
             is written as its ID)"
                .into(),
        );
    }
    let (section, field) = match parts.len() {
        4 => (Some(parts[2].to_string()), parts[3]),
        _ => (None, parts[2]),
    };
    let mut attribute = Attribute::Value;
    let mut via = None;
    for (k, v) in params {
        match k.as_str() {
            "attribute" => {
                attribute = Attribute::parse(v).ok_or_else(|| {
                    format!(
                        "?attribute={v:?} is unknown; use value, type, id, label, purpose or otp \
                         for a field, content, name, size or id for a file"
                    )
                })?;
            }
            "via" => {
                via = Some(match v.to_ascii_lowercase().as_str() {
                    "connect" => Via::Connect,
                    "cli" | "op" => Via::Cli,
                    _ => return Err(format!("?via={v:?} is unknown; use connect or cli")),
                });
            }
            "ssh-format" => {
                return Err(
                    "?ssh-format= is not supported here; store the key in the format the \
                     server needs, or read it with `op read`"
                        .into(),
                );
            }
            _ => {}
        }
    }
    Ok(Target {
        key: ItemKey {
            vault: parts[0].to_string(),
            item: parts[1].to_string(),
        },
        section,
        field: field.to_string(),
        attribute,
        via,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn fields_with_and_without_sections() {
        let t = parse("Private/My Item/password", &[]).unwrap();
        assert_eq!(t.key.vault, "Private");
        assert_eq!(t.key.item, "My Item");
        assert_eq!((t.section, t.field.as_str()), (None, "password"));
        assert_eq!((t.attribute, t.via), (Attribute::Value, None));
        let t = parse("dev/PagerDuty/Admin/email", &[p("via", "cli")]).unwrap();
        assert_eq!(t.section.as_deref(), Some("Admin"));
        assert_eq!(t.via, Some(Via::Cli));
        assert_eq!(t.op_reference(), "op://dev/PagerDuty/Admin/email");
        let t = parse("v/i/otp", &[p("attribute", "TOTP"), p("via", "connect")]).unwrap();
        assert_eq!((t.attribute, t.via), (Attribute::Otp, Some(Via::Connect)));
        assert_eq!(t.op_reference(), "op://v/i/otp?attribute=otp");
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in ["v/i", "v//f", "v/i/s/f/x", "/i/f", "v/i/"] {
            assert!(parse(bad, &[]).is_err(), "{bad}");
        }
        assert!(parse("v/i/f", &[p("attribute", "colour")]).is_err());
        assert!(parse("v/i/f", &[p("via", "carrier-pigeon")]).is_err());
        let e = parse("v/i/f", &[p("ssh-format", "openssh")]).unwrap_err();
        assert!(e.contains("ssh-format"), "{e}");
    }
}
