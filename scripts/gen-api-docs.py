#!/usr/bin/env python3
"""Generates the API reference (docs/api/*.md) from include/crochet.h.

    scripts/gen-api-docs.py [HEADER [OUTDIR]]     (defaults: include/crochet.h docs/api)
    scripts/gen-api-docs.py --check-links FILE.md...   relative links must stay in the tree

The header is the contract and the only source: this script adds no prose of
its own beyond headings and links. Like zstd's manual (made from zstd.h), it
reads the header's layout, not C semantics:

  - The comment at the top of the file is the overview (docs/api/README.md).
  - A section starts at a banner: a line of dashes in a comment, a comment
    holding the title, another line of dashes. Each section is one page,
    named after its title (the words before any parenthesis or colon).
  - A comment directly followed (no blank line) by declarations documents
    them; a comment followed by a blank line is prose of the section.
  - Declarations are kept verbatim (prototypes, typedefs, macros, enums,
    static inline functions, #if blocks), trailing comments included.

Python standard library only. OUTDIR receives README.md and one page per
section; other *.md files there are removed, so renamed sections leave no
stale page. `make check-docs` runs this into a temporary directory and fails
when the committed pages differ.
"""

import os
import re
import sys

GENERATED_NOTE = ("<!-- Generated from include/crochet.h by scripts/gen-api-docs.py "
                  "(make docs). Do not edit: edit the header's comments. -->")

BANNER_RE = re.compile(r"^/\*\s*-{5,}\s*\*/\s*$")
TITLE_RE = re.compile(r"^/\*\s*(.*?)\s*\*/\s*$")
NAME_PATTERNS = [
    re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)", re.M),             # macro
    re.compile(r"\(\s*\*\s*(crochet_\w+)\s*\)\s*\("),                  # typedef of a function pointer
    re.compile(r"\b(crochet_[a-z0-9_]+)\s*\("),                        # function or inline function
    re.compile(r"^\s*typedef\b[^;{]*\b(\w+)\s*;", re.S),               # typedef struct x x;
    re.compile(r"}\s*(\w+)\s*;\s*$"),                                  # typedef enum {...} name;
]
IDENT_RE = re.compile(r"\b(?:crochet|CROCHET)_\w*(?:\(\)|\*)?|\*_[a-z]+\b")


def slug(title):
    """'Calling into the reactor (crochet.run_in_reactor)' -> 'calling-into-the-reactor';
    'Operability: why ...' -> 'operability'."""
    base = re.split(r"[(:]", title)[0].strip() or title
    s = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")
    return s or "section"


def comment_text(raw):
    """The text of a /* ... */ comment, without delimiters and leading stars."""
    body = raw.strip()
    assert body.startswith("/*") and body.endswith("*/"), raw
    body = body[2:-2]
    lines = body.split("\n")
    out = []
    for i, line in enumerate(lines):
        line = line.rstrip()
        m = re.match(r"^\s*\*(?!/)\s?", line) if i > 0 else None
        if m:
            line = line[m.end():]
        elif i == 0:
            line = line[1:] if line.startswith(" ") else line
        else:
            line = line.strip()
        out.append(line)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


class Item:
    """A comment and the declarations it documents (either may be absent)."""

    def __init__(self, doc=None, code=None):
        self.doc = doc          # list of text lines, or None
        self.code = code or []  # list of source lines

    def names(self):
        names = []
        for chunk in split_declarations(self.code):
            if re.match(r"^\s*enum\s*\{", chunk):                 # an anonymous enum: its constants
                names.extend(n for n in re.findall(r"\b([A-Za-z_]\w*)\s*=", chunk) if n not in names)
                continue
            for pattern in NAME_PATTERNS:
                m = pattern.search(chunk)
                if m:
                    if m.group(1) not in names:
                        names.append(m.group(1))
                    break
        return names


def split_declarations(code_lines):
    """Splits verbatim code into declarations (for naming only)."""
    chunks, cur, depth, pp = [], [], 0, 0
    for line in code_lines:
        stripped = line.strip()
        cur.append(line)
        if re.match(r"#\s*if", stripped):
            pp += 1
        elif re.match(r"#\s*endif", stripped):
            pp -= 1
            if pp == 0:
                chunks.append("\n".join(cur)); cur = []
            continue
        if pp:
            continue
        if stripped.startswith("#"):
            if not stripped.endswith("\\"):
                chunks.append("\n".join(cur)); cur = []
            continue
        if cur and len(cur) > 1 and cur[-2].rstrip().endswith("\\"):
            if not stripped.endswith("\\"):
                chunks.append("\n".join(cur)); cur = []
            continue
        code = re.sub(r"/\*.*?\*/", "", line)
        depth += code.count("{") - code.count("}")
        if depth == 0 and (code.rstrip().endswith(";") or code.rstrip().endswith("}")):
            chunks.append("\n".join(cur)); cur = []
    if cur:
        chunks.append("\n".join(cur))
    return chunks


def tokenize(path):
    """Yields ('comment', text) / ('code', line) / ('blank',) / ('banner', line)
    tokens, with the include guard, extern "C" blocks and #include lines
    dropped. Inside braces (a struct, an enum) everything is code."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    tokens = []
    i = 0
    guard = None
    skip_stack = []  # for each open #if: True when it is the include guard
    depth = 0        # brace depth of the code so far
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if depth > 0:
            tokens.append(("code", line))
            depth += brace_delta(line)
            i += 1
            continue
        if BANNER_RE.match(stripped):
            tokens.append(("banner", stripped))
            i += 1
            continue
        if stripped.startswith("/*"):
            # A comment starting a line: up to its */.
            buf = [line]
            while "*/" not in "\n".join(buf)[line.index("/*") + 2:] and i + 1 < len(lines):
                i += 1
                buf.append(lines[i])
            i += 1
            rest = buf[-1].split("*/", 1)[1].strip() if "*/" in buf[-1] else ""
            if rest:
                # Code after the comment on the same line: keep it all as code.
                for b in buf:
                    tokens.append(("code", b))
                depth += brace_delta(rest)
            else:
                tokens.append(("comment", "\n".join(buf)))
            continue
        if not stripped:
            tokens.append(("blank",))
            i += 1
            continue
        m = re.match(r"#\s*(ifndef|ifdef|if|endif|else|elif|define|include)\b\s*(\S*)", stripped)
        if m:
            kind, arg = m.group(1), m.group(2)
            if kind == "ifndef" and guard is None and not tokens_have_code(tokens):
                guard = arg
                skip_stack.append(True)
                i += 1
                continue
            if kind == "define" and guard is not None and arg == guard:
                i += 1
                continue
            if kind == "ifdef" and arg == "__cplusplus":
                # extern "C" { or } : skip the whole block.
                while i < len(lines) and not re.match(r"\s*#\s*endif", lines[i]):
                    i += 1
                i += 1
                continue
            if kind == "include":
                i += 1
                continue
            if kind in ("if", "ifdef", "ifndef"):
                skip_stack.append(False)
            elif kind == "endif":
                if skip_stack and skip_stack.pop():
                    i += 1
                    continue
            tokens.append(("code", line))
            i += 1
            continue
        tokens.append(("code", line))
        depth += brace_delta(line)
        i += 1
    return tokens


def brace_delta(line):
    code = re.sub(r"/\*.*?(\*/|$)", "", line)
    code = re.sub(r'"(\\.|[^"\\])*"', "", code)
    return code.count("{") - code.count("}")


def tokens_have_code(tokens):
    return any(t[0] == "code" for t in tokens)


def parse(path):
    """Returns (overview_lines, preamble_items, [(title, [Item])])."""
    tokens = tokenize(path)
    overview = None
    preamble, sections = [], []
    current = preamble
    i = 0
    pending_doc = None
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        if tok[0] == "banner":
            # banner, title comment, banner
            if i + 2 < n and tokens[i + 1][0] == "comment" and tokens[i + 2][0] == "banner":
                m = TITLE_RE.match(tokens[i + 1][1].strip())
                title = m.group(1) if m else " ".join(comment_text(tokens[i + 1][1]))
                if pending_doc is not None:
                    current.append(Item(doc=pending_doc)); pending_doc = None
                items = []
                sections.append((title, items))
                current = items
                i += 3
                continue
            i += 1
            continue
        if tok[0] == "comment":
            if pending_doc is not None:
                current.append(Item(doc=pending_doc))
            text = comment_text(tok[1])
            if overview is None and not sections and not preamble and not tokens_have_code(tokens[:i]):
                overview = text
                pending_doc = None
            else:
                pending_doc = text
            i += 1
            # A blank line after the comment makes it prose.
            if pending_doc is not None and (i >= n or tokens[i][0] in ("blank", "banner")):
                current.append(Item(doc=pending_doc)); pending_doc = None
            continue
        if tok[0] == "blank":
            i += 1
            continue
        # code: gather consecutive code lines
        code = []
        while i < n and tokens[i][0] == "code":
            code.append(tokens[i][1])
            i += 1
        current.append(Item(doc=pending_doc, code=code))
        pending_doc = None
    if pending_doc is not None:
        current.append(Item(doc=pending_doc))
    return overview or [], preamble, sections


# ---- Markdown rendering ----------------------------------------------------

def md_inline(text):
    """Escapes Markdown in prose and puts the library's identifiers in code spans."""
    out, pos = [], 0
    for m in IDENT_RE.finditer(text):
        out.append(escape(text[pos:m.start()]))
        out.append("`" + m.group(0) + "`")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def escape(s):
    return re.sub(r"([\\`*_<>\[\]])", r"\\\1", s)


def render_doc(lines):
    """Comment text to Markdown: paragraphs, '-' lists, indented lines as code."""
    out = []
    in_list = False
    item_indent = 0
    code = []

    def flush_code():
        if code:
            base = min(len(c) - len(c.lstrip()) for c in code if c.strip())
            out.append("```c")
            out.extend(c[base:] for c in code)
            out.append("```")
            out.append("")
            code.clear()

    for line in lines:
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if not body:
            flush_code()
            if out and out[-1] != "":
                out.append("")
            in_list = False
            continue
        m = re.match(r"^(\s*)- (.*)$", line)
        if m:
            flush_code()
            if not in_list and out and out[-1] != "":
                out.append("")
            in_list = True
            item_indent = len(m.group(1))
            out.append("- " + md_inline(m.group(2)))
            continue
        if in_list and indent > item_indent:
            out.append("  " + md_inline(body))
            continue
        if indent >= 2:
            if not code and out and out[-1] != "":
                out.append("")
            code.append(line)
            in_list = False
            continue
        flush_code()
        if in_list:
            out.append("")
            in_list = False
        out.append(md_inline(body))
    flush_code()
    while out and out[-1] == "":
        out.pop()
    return out


def render_item(item, anchors=True):
    out = []
    names = item.names() if item.code else []
    if names:
        if anchors:
            out.extend('<a id="%s"></a>' % name for name in names)
        if len(names) <= 4:
            out.append("### " + ", ".join("`%s`" % n for n in names))
        else:
            out.append("### `%s` … `%s`" % (names[0], names[-1]))
        out.append("")
    if item.code:
        out.append("```c")
        out.extend(l.rstrip() for l in item.code)
        out.append("```")
        out.append("")
    if item.doc:
        out.extend(render_doc(item.doc))
        out.append("")
    return out


def render_section(title, items, version):
    out = [GENERATED_NOTE, "", "# " + title, "",
           "[API reference](README.md) · libcrochet %s · `include/crochet.h`" % version, ""]
    for item in items:
        out.extend(render_item(item))
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def render_index(overview, preamble, sections, version):
    out = [GENERATED_NOTE, "", "# libcrochet %s API reference" % version, "",
           "One page per section of `include/crochet.h`, the C contract; every entry is",
           "the header's own comment. Read the [concepts](../concepts.md) first.", ""]
    out.extend(render_doc(overview))
    out.extend(["", "## Sections", ""])
    index = []
    for title, items in sections:
        names = [n for item in items for n in item.names()]
        fns = [n for n in names if n.startswith("crochet_")]
        out.append("- [%s](%s.md)" % (md_inline(title), slug(title)))
        for n in names:
            index.append((n, slug(title)))
        if fns:
            out.append("  (" + ", ".join("`%s`" % n for n in fns) + ")")
    if preamble:
        out.extend(["", "## Before the first section", ""])
        for item in preamble:
            out.extend(render_item(item, anchors=False))
    while out and out[-1] == "":
        out.pop()
    out.extend(["", "## Index", ""])
    for name, page in sorted(index, key=lambda p: p[0].lower()):
        out.append("- [`%s`](%s.md#%s)" % (name, page, name))
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def version_of(path):
    with open(path, encoding="utf-8") as f:
        m = re.search(r'#define\s+CROCHET_VERSION_STRING\s+"([^"]*)"', f.read())
    return m.group(1) if m else "?"


def check_links(files):
    """Fails when a Markdown file links a path that is not a file or directory
    inside the repository (the current directory): a clone must be whole."""
    root = os.path.realpath(".")
    bad = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"```.*?```", "", text, flags=re.S)       # not inside code blocks
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue                                       # a URL or an anchor
            rel = target.split("#", 1)[0]
            full = os.path.realpath(os.path.join(os.path.dirname(path), rel))
            if not (full == root or full.startswith(root + os.sep)) or not os.path.exists(full):
                bad.append("%s: %s" % (path, target))
    for b in bad:
        print("broken or outside the repository: " + b, file=sys.stderr)
    if bad:
        sys.exit(1)
    print("links: %d files, every relative link inside the repository" % len(files))


def main(argv):
    if len(argv) > 1 and argv[1] == "--check-links":
        return check_links(argv[2:])
    header = argv[1] if len(argv) > 1 else "include/crochet.h"
    outdir = argv[2] if len(argv) > 2 else "docs/api"
    overview, preamble, sections = parse(header)
    if not sections:
        sys.exit("%s: no sections found (banner comments: /* ---- */ /* Title */ /* ---- */)" % header)
    version = version_of(header)
    pages = {"README.md": render_index(overview, preamble, sections, version)}
    for title, items in sections:
        name = slug(title) + ".md"
        if name in pages:
            sys.exit("%s: two sections make %s" % (header, name))
        pages[name] = render_section(title, items, version)
    os.makedirs(outdir, exist_ok=True)
    for stale in sorted(os.listdir(outdir)):
        if stale.endswith(".md") and stale not in pages:
            os.remove(os.path.join(outdir, stale))
    for name, text in pages.items():
        path = os.path.join(outdir, name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    print("%s: %d pages in %s" % (header, len(pages), outdir))


if __name__ == "__main__":
    main(sys.argv)
