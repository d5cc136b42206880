#!/usr/bin/env python3
"""Drives the 1Password Connect stand-in with 1Password's OFFICIAL Connect
Python SDK (onepasswordconnectsdk), to prove the stand-in speaks what
1Password's own clients speak.

    sdk_op.py --url https://127.0.0.1:PORT --token TOKEN --ca CA.pem CMD ARGS...

    create VAULT            item JSON on stdin ({"title", "category",
                            "sections": [{"id", "label"}], "fields": [{"label",
                            "value", "type", "section", "purpose"}]}); prints the id
    get VAULT ITEM LABEL [SECTION]   the field's value to stdout
    set VAULT ITEM LABEL    value from stdin; replaces the field's value (PUT)
    rename VAULT ITEM TITLE the item's new title (PUT)
    delete VAULT ITEM       deletes the item
    file VAULT ITEM NAME    an attachment's content to stdout
    fields VAULT ITEM       JSON {"SECTION/LABEL": "TYPE"} of the item's fields (no values)
    times VAULT ITEM        JSON {"created": ISO, "updated": ISO}
    vaults                  "ID NAME" of each vault, one a line

Items and vaults are named by title/name or ID, as the SDK's get_item takes
them. Trust: the test's private CA, given to the SDK's own ClientConfig.
"""

import argparse
import json
import ssl
import sys

from onepasswordconnectsdk.client import Client
from onepasswordconnectsdk.config import ClientConfig
from onepasswordconnectsdk.models import Field, Item, ItemVault, Section
from onepasswordconnectsdk.models.field_section import FieldSection


def section_label(item, sid):
    for s in item.sections or []:
        if s.id == sid:
            return s.label
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    c = Client(a.url, a.token, ClientConfig(verify=ctx))
    if a.cmd == "vaults":
        for v in c.get_vaults():
            print(f"{v.id} {v.name}")
    elif a.cmd == "create":
        (vault,) = a.args
        spec = json.load(sys.stdin)
        vault_id = c.get_vault_by_title(vault).id
        fields = [
            Field(
                label=f["label"],
                value=f.get("value"),
                type=f.get("type", "STRING"),
                purpose=f.get("purpose"),
                section=FieldSection(id=f["section"]) if f.get("section") else None,
            )
            for f in spec.get("fields", [])
        ]
        sections = [Section(id=s["id"], label=s["label"]) for s in spec.get("sections", [])]
        item = Item(
            vault=ItemVault(id=vault_id),
            title=spec["title"],
            category=spec.get("category", "LOGIN"),
            tags=spec.get("tags", []),
            sections=sections,
            fields=fields,
        )
        print(c.create_item(vault_id, item).id)
    elif a.cmd == "get":
        vault, title, label, *section = a.args
        item = c.get_item(title, vault)
        for f in item.fields:
            sid = f.section.id if f.section else None
            if f.label == label and (not section or section_label(item, sid) == section[0]):
                sys.stdout.write(f.value or "")
                return
        sys.exit(f"no field {label}")
    elif a.cmd == "set":
        vault, title, label = a.args
        item = c.get_item(title, vault)
        value = sys.stdin.read()
        for f in item.fields:
            if f.label == label:
                f.value = value
        c.update_item(item.id, item.vault.id, item)
    elif a.cmd == "rename":
        vault, title, new_title = a.args
        item = c.get_item(title, vault)
        item.title = new_title
        c.update_item(item.id, item.vault.id, item)
    elif a.cmd == "delete":
        vault, title = a.args
        item = c.get_item(title, vault)
        c.delete_item(item.id, item.vault.id)
    elif a.cmd == "file":
        vault, title, name = a.args
        item = c.get_item(title, vault)
        for f in c.get_files(item.id, item.vault.id):
            if f.name == name:
                sys.stdout.buffer.write(c.get_file_content(f.id, item.id, item.vault.id, f.content_path))
                return
        sys.exit(f"no file {name}")
    elif a.cmd == "fields":
        vault, title = a.args
        item = c.get_item(title, vault)
        out = {}
        for f in item.fields:
            sid = f.section.id if f.section else None
            out[f"{section_label(item, sid) or ''}/{f.label}"] = f.type
        print(json.dumps(out, sort_keys=True))
    elif a.cmd == "times":
        vault, title = a.args
        item = c.get_item(title, vault)
        print(json.dumps({"created": item.created_at.isoformat(), "updated": item.updated_at.isoformat()}))
    else:
        sys.exit(f"unknown command {a.cmd}")


if __name__ == "__main__":
    main()
