"""Check a gettext catalogue is complete and safe to compile (docs/translation.md).

Usage: check_messages.py [FILE.po ...]   (default: every catalogue under locale/)

Fails on an entry that is untranslated or fuzzy, or whose translation differs from the
English in its placeholders, HTML tags or leading and trailing line breaks. Standard
library only, so it runs before anything is installed.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = re.compile(r"%\([a-zA-Z0-9_]+\)[sdifr]|%[sdif]|\{[a-zA-Z0-9_.]*\}")
KEYWORD = re.compile(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    obsolete: bool = False


def parse(text: str) -> list[Entry]:
    """Read a catalogue whose entries are separated by blank lines, as gettext writes it."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            current, target = None, None
            continue
        if current is None:
            current = Entry(line=number)
            entries.append(current)
        if line.startswith("#~"):
            current.obsolete = True
        elif line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif match := KEYWORD.match(line):
            keyword, index, literal = match.groups()
            value = ast.literal_eval(literal)
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index) if index is not None else 0)
                current.msgstr[target[1]] = value
            else:
                target = (keyword, 0)
                setattr(current, keyword, value)
        elif line.startswith('"') and target is not None:
            value = ast.literal_eval(line)
            name, slot = target
            if name == "msgstr":
                current.msgstr[slot] += value
            else:
                setattr(current, name, (getattr(current, name) or "") + value)
        else:
            raise ValueError(f"line {number}: cannot read {raw!r}")
    return [entry for entry in entries if entry.msgid or entry.msgstr]


def _shape(text: str) -> tuple[list[str], list[str], bool, bool]:
    return (
        sorted(PLACEHOLDER.findall(text)),
        sorted(TAG.findall(text)),
        text.startswith("\n"),
        text.endswith("\n"),
    )


def problems(entries: list[Entry]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        if entry.obsolete:
            continue
        if entry.msgid == "":
            if "fuzzy" in entry.flags:
                found.append("the header is marked fuzzy: the catalogue would not compile")
            continue
        where = f"line {entry.line} ({entry.msgid[:50]!r})"
        if "fuzzy" in entry.flags:
            found.append(f"{where}: marked fuzzy")
        expected = [0, 1, 2] if entry.msgid_plural is not None else [0]
        for slot in expected:
            translated = entry.msgstr.get(slot, "")
            if not translated.strip():
                found.append(f"{where}: untranslated" + (f" (form {slot})" if slot else ""))
                continue
            english = entry.msgid if slot == 0 else (entry.msgid_plural or "")
            want, got = _shape(english), _shape(translated)
            if entry.msgid_plural is not None:
                # A plural form may leave out the number ("Una sesión" for "%(n)s session").
                want = (sorted(set(want[0])), want[1], want[2], want[3])
                got = (sorted(set(got[0])), got[1], got[2], got[3])
                if set(got[0]) <= set(want[0]) | set(_shape(entry.msgid_plural or "")[0]):
                    got = (want[0], got[1], got[2], got[3])
            if want[0] != got[0]:
                found.append(f"{where}: placeholders {want[0]} became {got[0]}")
            if want[1] != got[1]:
                found.append(f"{where}: HTML tags {want[1]} became {got[1]}")
            if want[2:] != got[2:]:
                found.append(f"{where}: leading or trailing line break differs")
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(Path("locale").glob("*/LC_MESSAGES/*.po"))
    if not paths:
        print("check_messages: no catalogue found", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        entries = parse(path.read_text(encoding="utf-8"))
        found = problems(entries)
        for problem in found:
            print(f"{path}: {problem}")
        failed += len(found)
        print(f"{path}: {len(entries) - 1} messages, {len(found)} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
