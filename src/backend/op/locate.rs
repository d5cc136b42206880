//! Finding the item a reference names through Connect, with the ID cache.
//!
//! Owns the order of lookups. An ID in the reference is used as it is. A
//! name is first tried through the IDs [`IdCache`] remembers, and such a
//! hint is accepted only when Connect's answers confirm it: the item's title
//! is still the reference's item name, it is in that vault, and the vault
//! still has the reference's vault name (`GET /v1/vaults/{id}`, once per
//! run per vault, concurrent with the item request). Otherwise the entry is
//! dropped and the name is resolved as 1Password's SDK resolves it (vault by
//! name, item by title, then the item), and the IDs found are remembered.
//! Must not pick fields, write, or save the cache.

use std::time::Instant;

use super::connect::{Connect, is_id};
use super::ids::IdCache;
use super::item::{Item, same_name};
use super::target::ItemKey;
use crate::backend::ErrorKind;
use crate::backend::rest::Fail;

/// Where a reference's item is: its vault's ID, and the item when there is one.
pub(crate) struct Located {
    pub vault_id: String,
    pub item: Option<Item>,
}

/// The vault and item `key` names.
pub(crate) async fn locate(
    c: &Connect,
    ids: &IdCache,
    key: &ItemKey,
    deadline: Instant,
) -> Result<Located, Fail> {
    let vault_by_name = !is_id(&key.vault);
    if let Some(vault_id) = ids.vault(&key.vault).filter(|_| vault_by_name) {
        let (named, found) = tokio::join!(
            still_named(c, &vault_id, &key.vault, deadline),
            in_vault(c, ids, &vault_id, &key.item, deadline),
        );
        if named? {
            return found.map(|item| Located { vault_id, item });
        }
        ids.forget_vault(&key.vault);
    }
    let vault_id = c.vault_id(&key.vault, deadline).await?;
    if vault_by_name {
        ids.put_vault(&key.vault, &vault_id);
    }
    let item = in_vault(c, ids, &vault_id, &key.item, deadline).await?;
    Ok(Located { vault_id, item })
}

/// An answer that says the hint is out of date rather than that Connect failed.
fn stale(f: &Fail) -> bool {
    matches!(f.kind, ErrorKind::NotFound | ErrorKind::Denied)
}

/// Whether vault `vault_id` still has the name `name`.
async fn still_named(
    c: &Connect,
    vault_id: &str,
    name: &str,
    deadline: Instant,
) -> Result<bool, Fail> {
    match c.vault_name(vault_id, deadline).await {
        Ok(now) => Ok(same_name(&now, name)),
        Err(f) if stale(&f) => Ok(false),
        Err(f) => Err(f),
    }
}

/// The item named (or identified by) `item` in vault `vault_id`.
async fn in_vault(
    c: &Connect,
    ids: &IdCache,
    vault_id: &str,
    item: &str,
    deadline: Instant,
) -> Result<Option<Item>, Fail> {
    if is_id(item) {
        return c.item(vault_id, item, deadline).await;
    }
    if let Some(item_id) = ids.item(vault_id, item) {
        match c.get_by_id(vault_id, &item_id, deadline).await {
            Ok(found) if confirms(&found, vault_id, item) => return Ok(Some(found)),
            Ok(_) => {}
            Err(f) if stale(&f) => {}
            Err(f) => return Err(f),
        }
        ids.forget_item(vault_id, item);
    }
    let found = c.item(vault_id, item, deadline).await?;
    if let Some(i) = &found {
        ids.put_item(vault_id, item, &i.id);
    }
    Ok(found)
}

/// Whether `found` is what a title lookup of `title` in `vault_id` would give.
fn confirms(found: &Item, vault_id: &str, title: &str) -> bool {
    same_name(&found.title, title)
        && found
            .vault
            .as_ref()
            .is_none_or(|v| v.id.is_empty() || v.id == vault_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "vvvvvvvvvvvvvvvvvvvvvvvvv1";

    fn item(json: &str) -> Item {
        Item::parse(json.as_bytes(), "test").unwrap()
    }

    #[test]
    fn a_hint_is_confirmed_by_title_and_vault_only() {
        let found = item(&format!(
            r#"{{"id":"x","title":"GitHub","vault":{{"id":"{V}"}}}}"#
        ));
        assert!(confirms(&found, V, "github"));
        assert!(!confirms(&found, V, "GitLab"), "renamed: another title");
        assert!(!confirms(&found, "wwwwwwwwwwwwwwwwwwwwwwwww1", "GitHub"));
        assert!(confirms(
            &item(r#"{"id":"x","title":"GitHub"}"#),
            V,
            "GitHub"
        ));
    }
}
