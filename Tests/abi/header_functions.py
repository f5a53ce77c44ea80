"""Prints the names of the functions a C header declares (not static inline)."""
import re
import sys

text = open(sys.argv[1]).read()
text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)      # comments
text = re.sub(r"//[^\n]*", "", text)
text = re.sub(r"^\s*#.*?(?<!\\)$", "", text, flags=re.M | re.S)  # preprocessor lines
# Drop static inline definitions (their bodies too).
text = re.sub(r"static\s+inline[^{;]*\{[^}]*\}", "", text)
names = set()
for decl in text.split(";"):
    decl = " ".join(decl.split())
    if decl.startswith("typedef") or "(" not in decl:
        continue
    m = re.match(r"^(?:extern \"C\" \{ )?[\w\s\*]*?\b(crochet_\w+)\s*\(", decl.lstrip("} "))
    if m:
        names.add(m.group(1))
print("\n".join(sorted(names)))
