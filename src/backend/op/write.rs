//! Writes through 1Password Connect: set a field's value (replace it, add
//! the field, or create the item) and remove a field.
//!
//! Owns the request bodies: a new item (`POST`, category API Credential,
//! the field concealed, its section when named) and JSON Patch documents
//! that touch one field only (`replace /fields/{id}/value`, `add /fields`,
//! `remove /fields/{id}`), so no other value of the item is ever sent back.
//! Bodies are built in zeroized buffers. Must not put a value into an error.

use std::time::Instant;

use serde::Serialize;

use super::connect::{Connect, is_id, json_body};
use super::ids::IdCache;
use super::item::{self, Item, MissReason, Selected};
use super::locate::{Located, locate};
use super::target::Target;
use crate::backend::rest::Fail;
use crate::backend::{ErrorKind, WriteOutcome};

#[derive(Serialize)]
struct IdRef<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct NewSection<'a> {
    id: &'a str,
    label: &'a str,
}

#[derive(Serialize)]
struct NewField<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    label: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<IdRef<'a>>,
}

#[derive(Serialize)]
struct NewItem<'a> {
    vault: IdRef<'a>,
    title: &'a str,
    category: &'static str,
    tags: [&'static str; 1],
    sections: Vec<NewSection<'a>>,
    fields: [NewField<'a>; 1],
}

#[derive(Serialize)]
struct PatchOp<V: Serialize> {
    op: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<V>,
}

/// A section ID for a new section: its label, lower-cased, spaces as `-`.
fn section_id(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .collect::<String>()
        .to_lowercase()
}

/// Sets the field `t` names to `value`.
/// The item it creates is remembered in `ids`.
pub(crate) async fn set(
    c: &Connect,
    ids: &IdCache,
    t: &Target,
    value: &str,
    deadline: Instant,
) -> Result<WriteOutcome, Fail> {
    let Located { vault_id, item } = locate(c, ids, &t.key, deadline).await?;
    let Some(item) = item else {
        let id = create(c, &vault_id, t, value, deadline).await?;
        if let Some(id) = id.filter(|_| !is_id(&t.key.item)) {
            ids.put_item(&vault_id, &t.key.item, &id);
        }
        return Ok(WriteOutcome::Created);
    };
    match item::select(&item, t) {
        Ok(Selected::Field(f)) => {
            let ops = [PatchOp {
                op: "replace",
                path: format!("/fields/{}/value", f.id),
                value: Some(value),
            }];
            let body = json_body(&ops, value.len())?;
            c.patch(&vault_id, &item.id, body, deadline).await?;
            Ok(WriteOutcome::Updated)
        }
        Ok(Selected::File(_)) => Err(Fail::new(
            ErrorKind::Unsupported,
            "this names a file attachment; Connect cannot write files",
        )),
        Err(m) if m.reason == MissReason::Absent => {
            add_field(c, &vault_id, &item, t, value, deadline).await?;
            Ok(WriteOutcome::Created)
        }
        Err(m) => Err(m.fail),
    }
}

async fn create(
    c: &Connect,
    vault_id: &str,
    t: &Target,
    value: &str,
    deadline: Instant,
) -> Result<Option<String>, Fail> {
    let sid = t.section.as_deref().map(section_id);
    let new = NewItem {
        vault: IdRef { id: vault_id },
        title: &t.key.item,
        category: "API_CREDENTIAL",
        tags: [item::OWN_TAG],
        sections: match (&t.section, &sid) {
            (Some(label), Some(id)) => vec![NewSection { id, label }],
            _ => Vec::new(),
        },
        fields: [NewField {
            kind: "CONCEALED",
            label: &t.field,
            value,
            section: sid.as_deref().map(|id| IdRef { id }),
        }],
    };
    let body = json_body(&new, value.len())?;
    c.create(vault_id, body, deadline).await
}

/// Adds the field to an item; the section must exist already.
async fn add_field(
    c: &Connect,
    vault_id: &str,
    item: &Item,
    t: &Target,
    value: &str,
    deadline: Instant,
) -> Result<(), Fail> {
    // The section reads look in (item::select), so the new field is found.
    let section = match &t.section {
        None => None,
        Some(name) => Some(item.section_named(name).map_err(|m| match m.reason {
            MissReason::Absent => Fail::new(
                ErrorKind::NotFound,
                format!(
                    "item {:?} has no section {name:?}; add the section in 1Password first, \
                     or write the field without a section",
                    item.title
                ),
            ),
            MissReason::Ambiguous => m.fail,
        })?),
    };
    let ops = [PatchOp {
        op: "add",
        path: "/fields".into(),
        value: Some(NewField {
            kind: "CONCEALED",
            label: &t.field,
            value,
            section: section.map(|id| IdRef { id }),
        }),
    }];
    let body = json_body(&ops, value.len())?;
    c.patch(vault_id, &item.id, body, deadline).await
}

/// Removes the field `t` names; the whole item when it was its only field
/// and mcp-warden created it (and then forgets it in `ids`). Any other item
/// (a Secure Note's `notesPlain`, say) keeps existing without the field.
pub(crate) async fn remove(
    c: &Connect,
    ids: &IdCache,
    t: &Target,
    deadline: Instant,
) -> Result<(), Fail> {
    let Located { vault_id, item } = locate(c, ids, &t.key, deadline).await?;
    let item = item.ok_or_else(|| {
        Fail::new(
            ErrorKind::NotFound,
            format!("no item {:?} in vault {:?}", t.key.item, t.key.vault),
        )
    })?;
    let field_id = match item::select(&item, t)? {
        Selected::Field(f) => f.id.clone(),
        Selected::File(_) => {
            return Err(Fail::new(
                ErrorKind::Unsupported,
                "this names a file attachment; remove it in 1Password",
            ));
        }
    };
    if item.fields.len() == 1 && item.files.is_empty() && item.is_ours() {
        c.delete(&vault_id, &item.id, deadline).await?;
        ids.forget_item_id(&vault_id, &item.id);
        return Ok(());
    }
    let ops = [PatchOp::<&str> {
        op: "remove",
        path: format!("/fields/{field_id}"),
        value: None,
    }];
    let body = json_body(&ops, 0)?;
    c.patch(&vault_id, &item.id, body, deadline).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_what_connect_documents() {
        let ops = [PatchOp {
            op: "replace",
            path: "/fields/abc/value".into(),
            value: Some("v"),
        }];
        let b = json_body(&ops, 1).unwrap();
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            r#"[{"op":"replace","path":"/fields/abc/value","value":"v"}]"#
        );
        assert_eq!(section_id("Prod Keys"), "prod-keys");
    }
}
