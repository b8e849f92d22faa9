"""Generated blocks in Markdown files: find them, check them, refresh them.

A block is a begin line `<!-- lstm-shapes ARGS -->`, the output of `lstm-shapes ARGS` and an end
line `<!-- /lstm-shapes -->`. ARGS are only ever this tool's own options, parsed by the same parser
as the command line (the caller passes that in as `render`); nothing in a document is executed.
Markers inside fenced or indented code are examples and are left alone.

The core is text in, text out (`refresh_text`); the file layer around it reads every file and
renders every block before it writes anything, so a bad marker anywhere changes no file at all.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LstmShapesError

BEGIN = re.compile(r"^ {0,3}<!--\s*lstm-shapes(?:\s+(?P<args>.*?))?\s*-->\s*$")
END = re.compile(r"^ {0,3}<!--\s*/lstm-shapes\s*-->\s*$")
# Anything that starts like one of our markers but is not one is a mistake worth stopping for.
LOOKS_LIKE = re.compile(r"^ {0,3}<!--\s*/?lstm-shapes\b")
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
FENCED_FORMATS = {"text": "text", "json": "json", "csv": "csv", "latex": "latex", "org": "org", "mermaid": "mermaid", "dot": "dot", "graph": "text"}
BOM = "\ufeff"

Render = Callable[[list[str]], str]


class DocsError(LstmShapesError):
    """A document cannot be processed: a malformed marker, bad arguments, or an unreadable file."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True)
class Block:
    path: str
    line: int  # 1-based line of the begin marker
    args: str
    old: str  # what stands between the markers now
    new: str  # what the tool prints there

    @property
    def stale(self) -> bool:
        return self.old != self.new

    def diff(self) -> str:
        import difflib  # only a stale block needs it

        where = f"{self.path}:{self.line}"
        lines = difflib.unified_diff(
            self.old.splitlines(keepends=True),
            self.new.splitlines(keepends=True),
            fromfile=f"{where} (in the file)",
            tofile=f"{where} (lstm-shapes {self.args})",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def body(output: str, fmt: str, newline: str = "\n") -> str:
    """What goes between the markers: the output with a blank line on each side, fenced if not Markdown.

    The blank lines keep prettier and mdformat from changing the page.
    """
    text = output if fmt == "markdown" else f"```{FENCED_FORMATS.get(fmt, '')}\n{output}```\n"
    return ("\n" + text + "\n").replace("\n", newline)


def marker_format(args: list[str]) -> str:
    fmt = "markdown"
    for index, arg in enumerate(args):
        if arg in ("--format", "-f") and index + 1 < len(args):
            fmt = args[index + 1]
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
    return fmt


def refresh_text(text: str, render: Render, path: str = "<text>") -> tuple[str, list[Block]]:
    """The text with every block refreshed, and the blocks found; raises DocsError on a bad marker.

    `text` has no BOM; its line endings (LF or CRLF) are kept in what is generated.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    blocks: list[Block] = []
    fence: str | None = None  # the opening fence while inside fenced code
    begin: tuple[int, str] | None = None  # (line index, args) while inside a block
    inner: list[str] = []
    for index, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        number = index + 1
        if begin is None and fence is not None:
            out.append(raw)
            closing = FENCE.match(line) if line.lstrip(" ")[:3] == fence[:3] else None
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence) and not closing["info"].strip():
                fence = None
            continue
        if begin is None and line.lstrip(" ")[:3] in ("```", "~~~"):
            opening = FENCE.match(line)
            if opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
                fence = opening["fence"]
                out.append(raw)
                continue
        if "<!--" not in line or line.startswith("    ") or line.startswith("\t"):
            # Most lines hold no marker; indented code (or a block's own content) never does.
            (inner if begin is not None else out).append(raw)
            continue
        if BEGIN.match(line):
            if begin is not None:
                raise DocsError(path, number, f"a begin marker inside the block opened at line {begin[0] + 1}; "
                                "close it with <!-- /lstm-shapes --> first")
            args = (BEGIN.match(line)["args"] or "").strip()  # type: ignore[index]
            begin = (index, args)
            inner = []
            out.append(raw)
            continue
        if END.match(line):
            if begin is None:
                raise DocsError(path, number, "an end marker <!-- /lstm-shapes --> without a begin marker before it")
            block_line, args = begin[0] + 1, begin[1]
            new = _render(args, render, path, block_line, newline)
            blocks.append(Block(path, block_line, args, "".join(inner), new))
            out.append(new)
            out.append(raw)
            begin = None
            continue
        if LOOKS_LIKE.match(line):
            raise DocsError(path, number, "a malformed marker: write <!-- lstm-shapes OPTIONS --> or "
                            "<!-- /lstm-shapes -->, each alone on its line")
        (inner if begin is not None else out).append(raw)
    if begin is not None:
        raise DocsError(path, begin[0] + 1, "a begin marker without its end marker <!-- /lstm-shapes -->")
    return "".join(out), blocks


def _render(args: str, render: Render, path: str, line: int, newline: str) -> str:
    try:
        # Plain options need no shell-style parsing; quotes and escapes get shlex's.
        argv = shlex.split(args) if any(c in args for c in "'\"\\#") else args.split()
    except ValueError as exc:
        raise DocsError(path, line, f"cannot split the marker's options: {exc}") from None
    if not argv:
        raise DocsError(path, line, "a marker without options; write e.g. <!-- lstm-shapes --input 4 --hidden 2 -->")
    try:
        output = render(argv)
    except DocsError:
        raise
    except ValueError as exc:  # the caller's parser says what is wrong with the options
        raise DocsError(path, line, " ".join(str(exc).split())) from None
    return body(output, marker_format(argv), newline)


# --- Files -----------------------------------------------------------------------------------------


@dataclass
class FileResult:
    path: Path
    original: bytes
    updated: bytes
    blocks: list[Block] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.original != self.updated


def markdown_files(paths: Iterable[str]) -> list[Path]:
    """The files named, and the *.md files under the directories named (hidden folders skipped)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
                found += [Path(root) / f for f in sorted(files) if f.endswith(".md")]
        elif path.exists():
            found.append(path)
        else:
            raise DocsError(name, 0, "no such file or directory")
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path, None)
    return list(unique)


def process_file(path: Path, render: Render) -> FileResult:
    display = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocsError(display, 0, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DocsError(display, line, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    bom = text.startswith(BOM)
    fresh, blocks = refresh_text(text[1:] if bom else text, render, display)
    updated = ((BOM if bom else "") + fresh).encode("utf-8")
    return FileResult(path, raw, updated, blocks)


def process(paths: Iterable[str], render: Render) -> list[FileResult]:
    """Read and refresh every file in memory; raises the first DocsError before anything is written."""
    cache: dict[tuple[str, ...], str] = {}

    def cached(argv: list[str]) -> str:
        key = tuple(argv)
        if key not in cache:
            cache[key] = render(argv)
        return cache[key]

    errors: list[DocsError] = []
    results = []
    for path in markdown_files(paths):
        try:
            results.append(process_file(path, cached))
        except DocsError as exc:
            errors.append(exc)
    if errors:
        raise DocsErrors(errors)
    return results


def check(paths: Iterable[str], render: Render, cached: int = 32) -> tuple[list[Block], int, int]:
    """The stale blocks, and how many blocks and files were read; raises DocsErrors after the last file.

    For `docs check`, which writes nothing: one file at a time is in memory, only its stale blocks
    are kept, and only the last `cached` renderings are kept for repeated markers.
    """
    outputs: OrderedDict[tuple[str, ...], str] = OrderedDict()

    def render_cached(argv: list[str]) -> str:
        key = tuple(argv)
        if key in outputs:
            outputs.move_to_end(key)
            return outputs[key]
        output = outputs[key] = render(argv)
        if len(outputs) > cached:
            outputs.popitem(last=False)
        return output

    errors: list[DocsError] = []
    stale: list[Block] = []
    blocks = files = 0
    for path in markdown_files(paths):
        try:
            result = process_file(path, render_cached)
        except DocsError as exc:
            errors.append(exc)
            continue
        files += 1
        blocks += len(result.blocks)
        stale += (block for block in result.blocks if block.stale)
    if errors:
        raise DocsErrors(errors)
    return stale, blocks, files


class DocsErrors(LstmShapesError):
    """Every error found in one run, one line each."""

    def __init__(self, errors: list[DocsError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace the file's content in one step, keeping its mode; a crash leaves the old file whole."""
    import tempfile  # only `docs update` writes; a check starts faster and smaller without it

    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
