//! A 1Password item as Connect (`GET /v1/vaults/{v}/items/{i}`) and the CLI
//! (`op item get --format json`) describe it, and field selection: which
//! field or file of the item a reference names.
//!
//! Owns reading both JSON shapes into one [`Item`] (values straight into
//! [`SecretValue`]s), matching by ID or by label without regard to case,
//! section-qualified or not, and refusing an ambiguous name with both
//! sections named. Must not do I/O or put a value into an error.

use std::time::SystemTime;

use serde::Deserialize;

use super::target::{Attribute, Target};
use crate::backend::ErrorKind;
use crate::backend::rest::{Fail, rfc3339};
use crate::secret::SecretValue;

/// A section of an item.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Section {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SectionRef {
    #[serde(default)]
    id: String,
}

/// One field. Its value never leaves a [`SecretValue`].
#[derive(Deserialize)]
pub(crate) struct Field {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    section: Option<SectionRef>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    pub value: Option<SecretValue>,
    /// The current code of an OTP field, where the answer carries it.
    #[serde(default, deserialize_with = "secret")]
    pub totp: Option<SecretValue>,
}

impl Field {
    pub fn section_id(&self) -> Option<&str> {
        self.section
            .as_ref()
            .map(|s| s.id.as_str())
            .filter(|s| !s.is_empty())
    }
}

/// A file attachment: its content is fetched separately.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FileRef {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    section: Option<SectionRef>,
    #[serde(default)]
    pub content_path: Option<String>,
}

impl FileRef {
    pub fn section_id(&self) -> Option<&str> {
        self.section
            .as_ref()
            .map(|s| s.id.as_str())
            .filter(|s| !s.is_empty())
    }
}

/// The vault an item names itself in.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct VaultRef {
    #[serde(default)]
    pub id: String,
}

/// A whole item.
#[derive(Deserialize)]
pub(crate) struct Item {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// The vault it is in (Connect and the CLI both name its ID).
    #[serde(default)]
    pub vault: Option<VaultRef>,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub sections: Vec<Section>,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub files: Vec<FileRef>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, alias = "created_at", rename = "createdAt")]
    created: Option<String>,
    #[serde(default, alias = "updated_at", rename = "updatedAt")]
    updated: Option<String>,
}

/// A JSON string straight into a [`SecretValue`] (the `String` buffer moves).
fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SecretValue>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretValue::from_string))
}

impl Item {
    /// Reads an item answer; the body may hold values and is never quoted.
    pub fn parse(body: &[u8], what: &str) -> Result<Item, Fail> {
        serde_json::from_slice(body).map_err(|_| {
            Fail::new(
                ErrorKind::BadData,
                format!("{what} answered with something that is not a 1Password item"),
            )
        })
    }

    pub fn created(&self) -> Option<SystemTime> {
        self.created.as_deref().and_then(rfc3339)
    }

    pub fn updated(&self) -> Option<SystemTime> {
        self.updated.as_deref().and_then(rfc3339)
    }

    fn section_label(&self, id: Option<&str>) -> String {
        let Some(id) = id else {
            return "(no section)".into();
        };
        self.sections
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.label.clone())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| id.to_string())
    }

    /// The ID of the section a reference's SECTION names (ID, else label
    /// without regard to case): where reads look and writes add a field.
    pub fn section_named(&self, name: &str) -> Result<&str, Miss> {
        if let Some(s) = self.sections.iter().find(|s| s.id == name) {
            return Ok(s.id.as_str());
        }
        let found: Vec<&str> = self
            .sections
            .iter()
            .filter(|s| s.label.as_deref().is_some_and(|l| same_name(l, name)))
            .map(|s| s.id.as_str())
            .collect();
        match found.as_slice() {
            [] => Err(Miss::absent(format!(
                "item {:?} has no section {name:?}",
                self.title
            ))),
            [one] => Ok(one),
            many => Err(Miss::ambiguous(format!(
                "section {name:?} is ambiguous in item {:?} ({} sections have that name); \
                 use the section's ID",
                self.title,
                many.len()
            ))),
        }
    }
}

/// Why a reference names nothing in an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissReason {
    /// No such section, field or file: a write may add it.
    Absent,
    /// More than one matches: never guessed, never written.
    Ambiguous,
}

/// A reference that names nothing (or more than one thing) in an item.
#[derive(Debug, Clone)]
pub(crate) struct Miss {
    pub reason: MissReason,
    pub fail: Fail,
}

impl Miss {
    fn absent(message: String) -> Miss {
        Miss {
            reason: MissReason::Absent,
            fail: Fail::new(ErrorKind::NotFound, message),
        }
    }

    fn ambiguous(message: String) -> Miss {
        Miss {
            reason: MissReason::Ambiguous,
            fail: Fail::new(ErrorKind::NotFound, message),
        }
    }
}

impl From<Miss> for Fail {
    fn from(m: Miss) -> Fail {
        m.fail
    }
}

/// The tag mcp-warden puts on the items it creates.
pub(crate) const OWN_TAG: &str = "mcp-warden";

impl Item {
    /// Created by mcp-warden (it carries [`OWN_TAG`]), so it may be deleted
    /// with its last field.
    pub fn is_ours(&self) -> bool {
        self.tags.iter().any(|t| t == OWN_TAG)
    }
}

/// 1Password matches names without regard to case.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// What a reference names in an item.
pub(crate) enum Selected<'a> {
    Field(&'a Field),
    File(&'a FileRef),
}

/// Finds the field (or else the file) `t` names: by ID, else by label
/// without regard to case, within its section when one is named. Two
/// matches are an error naming both sections, never a guess.
pub(crate) fn select<'a>(item: &'a Item, t: &Target) -> Result<Selected<'a>, Miss> {
    let scope = match &t.section {
        Some(name) => Some(item.section_named(name)?),
        None => None,
    };
    let in_scope = |sec: Option<&str>| match scope {
        None => true,
        Some(id) => sec == Some(id),
    };
    let name = t.field.as_str();
    if let Some(f) = item
        .fields
        .iter()
        .find(|f| f.id == name && in_scope(f.section_id()))
    {
        return Ok(Selected::Field(f));
    }
    let fields: Vec<&Field> = item
        .fields
        .iter()
        .filter(|f| in_scope(f.section_id()))
        .filter(|f| f.label.as_deref().is_some_and(|l| same_name(l, name)))
        .collect();
    let fields = prefer_exact(fields, |f| f.label.as_deref() == Some(name));
    match fields.as_slice() {
        [one] => return Ok(Selected::Field(one)),
        [] => {}
        many => {
            let sections: Vec<String> = many
                .iter()
                .map(|f| format!("{:?}", item.section_label(f.section_id())))
                .collect();
            return Err(ambiguous(item, name, &sections));
        }
    }
    let files: Vec<&FileRef> = item
        .files
        .iter()
        .filter(|f| in_scope(f.section_id()))
        .filter(|f| f.id == name || same_name(&f.name, name))
        .collect();
    let files = prefer_exact(files, |f| f.id == name || f.name == name);
    match files.as_slice() {
        [one] => Ok(Selected::File(one)),
        [] => Err(Miss::absent(match &t.section {
            Some(s) => format!(
                "item {:?} has no field or file {name:?} in section {s:?}",
                item.title
            ),
            None => format!("item {:?} has no field or file {name:?}", item.title),
        })),
        many => {
            let sections: Vec<String> = many
                .iter()
                .map(|f| format!("{:?}", item.section_label(f.section_id())))
                .collect();
            Err(ambiguous(item, name, &sections))
        }
    }
}

/// Of several case-insensitive matches, the one that matches exactly, if only one does.
fn prefer_exact<T: Copy>(found: Vec<T>, exact: impl Fn(&T) -> bool) -> Vec<T> {
    if found.len() < 2 {
        return found;
    }
    let exact_ones: Vec<T> = found.iter().copied().filter(|f| exact(f)).collect();
    if exact_ones.len() == 1 {
        exact_ones
    } else {
        found
    }
}

fn ambiguous(item: &Item, name: &str, sections: &[String]) -> Miss {
    Miss::ambiguous(format!(
        "{name:?} is ambiguous in item {:?}: it is in sections {}; write \
         op://VAULT/ITEM/SECTION/FIELD or use the field's ID",
        item.title,
        sections.join(" and ")
    ))
}

/// The text of a field attribute other than a file's content. `None` for
/// `Content` (fetched separately) and for an OTP the answer does not carry.
pub(crate) fn field_value(f: &Field, attribute: Attribute) -> Result<Option<SecretValue>, Fail> {
    let text = |s: &Option<String>| SecretValue::from_string(s.clone().unwrap_or_default());
    Ok(Some(match attribute {
        Attribute::Value => match &f.value {
            Some(v) if !v.is_empty() => v.clone(),
            _ => {
                return Err(Fail::new(
                    ErrorKind::NotFound,
                    "the field is empty; store a value in it first",
                ));
            }
        },
        Attribute::Otp => match &f.totp {
            Some(v) => v.clone(),
            None => return Ok(None),
        },
        Attribute::Type => text(&f.kind),
        Attribute::Id => SecretValue::from_string(f.id.clone()),
        Attribute::Label => text(&f.label),
        Attribute::Purpose => text(&f.purpose),
        Attribute::Content | Attribute::Name | Attribute::Size => {
            return Err(Fail::new(
                ErrorKind::Config,
                format!(
                    "?attribute={} applies to files; this is a field (use value, type, id, \
                     label, purpose or otp)",
                    attribute.as_str()
                ),
            ));
        }
    }))
}

/// A file attribute other than its content; `None` for the content.
pub(crate) fn file_attribute(f: &FileRef, attribute: Attribute) -> Result<Option<String>, Fail> {
    Ok(match attribute {
        Attribute::Value | Attribute::Content => None,
        Attribute::Name | Attribute::Label => Some(f.name.clone()),
        Attribute::Id => Some(f.id.clone()),
        Attribute::Size => Some(f.size.to_string()),
        Attribute::Type => Some("FILE".into()),
        Attribute::Purpose | Attribute::Otp => {
            return Err(Fail::new(
                ErrorKind::Config,
                format!(
                    "?attribute={} applies to fields; this is a file (use content, name, size \
                     or id)",
                    attribute.as_str()
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::target::parse;
    use super::*;

    const ITEM: &str = r#"{
        "id": "abcdefghijklmnopqrstuvwxy1", "title": "GitHub", "version": 3,
        "createdAt": "2024-01-02T03:04:05Z", "updated_at": "2024-02-02T03:04:05Z",
        "sections": [{"id": "s1", "label": "Admin"}, {"id": "s2", "label": "Ops"}],
        "fields": [
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "top"},
            {"id": "f1", "section": {"id": "s1"}, "type": "STRING", "label": "token", "value": "admin-t"},
            {"id": "f2", "section": {"id": "s2", "label": "Ops"}, "type": "STRING", "label": "Token", "value": "ops-t"},
            {"id": "f3", "section": {"id": "s2"}, "type": "CONCEALED", "label": "api key", "value": "k"},
            {"id": "f4", "type": "OTP", "label": "one-time password", "value": "otpauth://x", "totp": "123456"}
        ],
        "files": [{"id": "file1", "name": "key.pem", "size": 12, "content_path": "/v1/x/content"}]
    }"#;

    fn pick(loc: &str) -> Result<String, String> {
        let item = Item::parse(ITEM.as_bytes(), "test").unwrap();
        let t = parse(loc, &[]).unwrap();
        match select(&item, &t).map_err(|m| m.fail.message)? {
            Selected::Field(f) => Ok(format!("field {}", f.id)),
            Selected::File(f) => Ok(format!("file {}", f.id)),
        }
    }

    #[test]
    fn fields_by_id_label_and_section() {
        assert_eq!(pick("v/i/password").unwrap(), "field password");
        assert_eq!(pick("v/i/PASSWORD").unwrap(), "field password");
        assert_eq!(pick("v/i/f1").unwrap(), "field f1");
        assert_eq!(pick("v/i/Admin/token").unwrap(), "field f1");
        assert_eq!(pick("v/i/ops/TOKEN").unwrap(), "field f2");
        assert_eq!(pick("v/i/s2/token").unwrap(), "field f2");
        assert_eq!(pick("v/i/api key").unwrap(), "field f3");
        assert_eq!(pick("v/i/key.pem").unwrap(), "file file1");
        assert_eq!(pick("v/i/file1").unwrap(), "file file1");
        let item = Item::parse(ITEM.as_bytes(), "test").unwrap();
        assert!(item.created().is_some() && item.updated().is_some());
    }

    #[test]
    fn a_label_in_two_sections_is_ambiguous_and_names_both() {
        let e = pick("v/i/tOkEn").unwrap_err();
        assert!(e.contains("\"Admin\" and \"Ops\""), "{e}");
        assert!(!e.contains("admin-t") && !e.contains("ops-t"), "{e}");
    }

    #[test]
    fn misses_name_what_is_missing() {
        assert!(pick("v/i/nope").unwrap_err().contains("no field or file"));
        assert!(
            pick("v/i/Nowhere/token")
                .unwrap_err()
                .contains("no section")
        );
        assert!(
            pick("v/i/Admin/api key")
                .unwrap_err()
                .contains("in section")
        );
    }

    #[test]
    fn attributes() {
        let item = Item::parse(ITEM.as_bytes(), "test").unwrap();
        let f = &item.fields[4];
        let v = field_value(f, Attribute::Otp).unwrap().unwrap();
        assert_eq!(v.expose(), b"123456");
        let v = field_value(&item.fields[0], Attribute::Type)
            .unwrap()
            .unwrap();
        assert_eq!(v.expose(), b"CONCEALED");
        assert!(field_value(f, Attribute::Size).is_err());
        let file = &item.files[0];
        assert_eq!(
            file_attribute(file, Attribute::Size).unwrap().unwrap(),
            "12"
        );
        assert!(file_attribute(file, Attribute::Content).unwrap().is_none());
        assert!(file_attribute(file, Attribute::Otp).is_err());
    }
}
