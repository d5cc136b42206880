#!/usr/bin/env python3
"""Where the parent process's resident memory lives, by mapping.

Run as the child of `mcp-warden run ... -- python smaps_summary.py`: it reads
/proc/<parent>/smaps (the supervising mcp-warden, still alive because it waits
for us) and prints one JSON object: VmHWM/VmRSS and resident KiB grouped as
the mcp-warden binary's own segments, other shared objects, heap/anonymous,
and the rest; plus PSS and private/shared totals from smaps_rollup. Its own memory is not counted (it is a separate process).
"""

from __future__ import annotations

import json
import os
import re

ppid = os.getppid()
groups: dict[str, int] = {}
exe = os.path.realpath(f"/proc/{ppid}/exe")
cur = None
with open(f"/proc/{ppid}/smaps") as f:
    for line in f:
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            parts = line.split()
            name = parts[5] if len(parts) > 5 else ""
            perms = parts[1]
            if name == exe:
                cur = f"binary {perms}"
            elif name.startswith("/"):
                cur = "shared libraries (libc, libm, ld.so, libgcc_s)"
            elif name in ("", "[heap]") or name.startswith("[anon"):
                cur = "heap + anonymous"
            else:
                cur = name
        elif line.startswith("Rss:") and cur is not None:
            groups[cur] = groups.get(cur, 0) + int(line.split()[1])

status = {}
with open(f"/proc/{ppid}/status") as f:
    for line in f:
        k, _, v = line.partition(":")
        if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            status[k + "_kb"] = int(v.split()[0])
with open(f"/proc/{ppid}/smaps_rollup") as f:
    for line in f:
        k, _, v = line.partition(":")
        if k in ("Pss", "Pss_Anon", "Pss_File", "Private_Clean", "Private_Dirty", "Shared_Clean"):
            status[k + "_kb"] = int(v.split()[0])
print(json.dumps({"pid": ppid, "exe_bytes": os.path.getsize(exe), **status,
                  "rss_kb_by_mapping": dict(sorted(groups.items(), key=lambda kv: -kv[1]))}))
