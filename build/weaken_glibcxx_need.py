#!/usr/bin/env python3
"""Mark one GLIBCXX version-need of an ELF shared library weak, where the system libstdc++ lacks it.

TorchSharp's libLibTorchSharp.so (built with GCC 13) declares a need for GLIBCXX_3.4.32, which
Debian 12's libstdc++ (GCC 12, up to 3.4.30) does not define, so the loader refuses the library.
The only symbol behind that version is never called. Setting VER_FLG_WEAK on the need entry in
.gnu.version_r turns the hard failure into a tolerated missing version. Idempotent; a no-op where
the system libstdc++ already provides the version.

Usage: weaken_glibcxx_need.py LIBRARY [VERSION]
"""
import ctypes.util
import os
import struct
import subprocess
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def system_libstdcxx_paths():
    """Where the dynamic loader would find libstdc++.so.6 (ldconfig cache first)."""
    paths = []
    try:
        out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if "libstdc++.so.6 " in line and "=>" in line and "x86-64" in line:
                paths.append(line.split("=>")[1].strip())
    except OSError:
        pass
    paths += ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6"]
    return [p for p in dict.fromkeys(paths) if os.path.exists(p)]


def system_has_version(version):
    paths = system_libstdcxx_paths()
    if not paths:
        return False
    with open(paths[0], "rb") as f:
        return (version.encode() + b"\0") in f.read()


def weaken(data, version):
    """Returns (patched bytes, number of entries changed)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    e_shoff, = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    changed = 0
    for _name, sh_type, _flags, _addr, sh_offset, _size, sh_link, sh_info, _align, _entsize in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab_offset = sections[sh_link][4]
        need = sh_offset
        for _ in range(sh_info):  # sh_info = number of Verneed entries
            _vn_version, vn_cnt, _vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, need)
            aux = need + vn_aux
            for _ in range(vn_cnt):
                _hash, flags, _other, name, vna_next = struct.unpack_from("<IHHII", data, aux)
                end = data.index(b"\0", strtab_offset + name)
                if data[strtab_offset + name:end].decode() == version and not flags & VER_FLG_WEAK:
                    struct.pack_into("<H", data, aux + 4, flags | VER_FLG_WEAK)
                    changed += 1
                aux += vna_next
            need += vn_next
    return data, changed


def main():
    library = sys.argv[1]
    version = sys.argv[2] if len(sys.argv) > 2 else "GLIBCXX_3.4.32"
    if not os.path.exists(library):
        print(f"weaken_glibcxx_need: {library} not found, nothing to do")
        return 0
    if system_has_version(version):
        print(f"weaken_glibcxx_need: system libstdc++ provides {version}, {library} left as is")
        return 0
    with open(library, "rb") as f:
        data = bytearray(f.read())
    data, changed = weaken(data, version)
    if changed:
        # Write a new file and rename it over the old one, so a hard link into the NuGet cache is never modified.
        temp = library + ".weakening"
        with open(temp, "wb") as f:
            f.write(data)
        os.chmod(temp, os.stat(library).st_mode)
        os.replace(temp, library)
        print(f"weaken_glibcxx_need: marked {changed} need(s) of {version} weak in {library}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
