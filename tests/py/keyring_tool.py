#!/usr/bin/env python3
"""The other side of tests/keyring.rs: what other programs do with the
Secret Service, on the session bus in DBUS_SESSION_BUS_ADDRESS.

Usage (values are read from stdin and written to stdout, never argv):
    keyring_tool.py py-set SERVICE ACCOUNT      Python's `keyring` stores a password
    keyring_tool.py py-get SERVICE ACCOUNT      Python's `keyring` reads it (exit 3: none)
    keyring_tool.py py-delete SERVICE ACCOUNT   Python's `keyring` deletes it
    keyring_tool.py locked-item SERVICE ACCOUNT PASSWORD
        creates a collection of its own with master PASSWORD (gnome-keyring's
        CreateWithMasterPassword, no prompt), stores the item there, locks the
        collection over D-Bus (Secret Service Lock), prints the collection path
    keyring_tool.py unlock COLLECTION PASSWORD  unlocks it (UnlockWithMasterPassword)
    keyring_tool.py delete COLLECTION           deletes the collection
    keyring_tool.py lock-default                locks the default collection (Secret Service Lock)
    keyring_tool.py own-name SECONDS            owns org.freedesktop.secrets without
                                                answering (for a bus whose policy refuses
                                                calls to it); prints "owned" when it does

Python's `keyring` (SecretService backend) and `jeepney` (the D-Bus library it
uses underneath) are the real clients; nothing here imitates a service.
"""

import sys
import time

from jeepney import DBusAddress, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

SECRETS = "org.freedesktop.secrets"
SERVICE = DBusAddress(
    "/org/freedesktop/secrets", bus_name=SECRETS, interface="org.freedesktop.Secret.Service"
)
INTERNAL = DBusAddress(
    "/org/freedesktop/secrets",
    bus_name=SECRETS,
    interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
)


def python_keyring():
    import keyring
    from keyring.backends import SecretService

    k = SecretService.Keyring()
    keyring.set_keyring(k)
    return keyring


def call(conn, address, method, signature=None, body=()):
    return conn.send_and_get_reply(new_method_call(address, method, signature, body)).body


def plain_session(conn):
    return call(conn, SERVICE, "OpenSession", "sv", ("plain", ("s", "")))[1]


def secret(session, text):
    return (session, b"", text.encode(), "text/plain")


def locked_item(service, account, password):
    value = sys.stdin.buffer.read().decode()
    conn = open_dbus_connection(bus="SESSION")
    session = plain_session(conn)
    props = {"org.freedesktop.Secret.Collection.Label": ("s", f"mcp-warden test {service}")}
    (collection,) = call(
        conn, INTERNAL, "CreateWithMasterPassword", "a{sv}(oayays)", (props, secret(session, password))
    )
    coll = DBusAddress(collection, bus_name=SECRETS, interface="org.freedesktop.Secret.Collection")
    item_props = {
        "org.freedesktop.Secret.Item.Label": ("s", f"{service}/{account}"),
        "org.freedesktop.Secret.Item.Attributes": ("a{ss}", {"service": service, "username": account}),
    }
    call(conn, coll, "CreateItem", "a{sv}(oayays)b", (item_props, secret(session, value), True))
    call(conn, SERVICE, "Lock", "ao", ([collection],))
    print(collection)


def unlock(collection, password):
    conn = open_dbus_connection(bus="SESSION")
    session = plain_session(conn)
    call(conn, INTERNAL, "UnlockWithMasterPassword", "o(oayays)", (collection, secret(session, password)))


def delete(collection):
    conn = open_dbus_connection(bus="SESSION")
    coll = DBusAddress(collection, bus_name=SECRETS, interface="org.freedesktop.Secret.Collection")
    call(conn, coll, "Delete")


def lock_default():
    conn = open_dbus_connection(bus="SESSION")
    (collection,) = call(conn, SERVICE, "ReadAlias", "s", ("default",))
    call(conn, SERVICE, "Lock", "ao", ([collection],))
    print(collection)


def own_name(seconds):
    conn = open_dbus_connection(bus="SESSION")
    conn.send_and_get_reply(message_bus.RequestName(SECRETS))
    print("owned", flush=True)
    time.sleep(seconds)


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "py-set":
        python_keyring().set_password(args[0], args[1], sys.stdin.buffer.read().decode())
    elif cmd == "py-get":
        value = python_keyring().get_password(args[0], args[1])
        if value is None:
            return 3
        sys.stdout.write(value)
    elif cmd == "py-delete":
        python_keyring().delete_password(args[0], args[1])
    elif cmd == "locked-item":
        locked_item(*args)
    elif cmd == "unlock":
        unlock(*args)
    elif cmd == "delete":
        delete(*args)
    elif cmd == "lock-default":
        lock_default()
    elif cmd == "own-name":
        own_name(float(args[0]))
    else:
        print(f"unknown command {cmd!r}", file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
