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
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .errors import LstmShapesError
from .render import BY_NAME

# A marker line, once its indentation is taken off (the caller decides whether that indentation
# makes it code).
BEGIN = re.compile(r"^<!--\s*lstm-shapes(?:\s+(?P<args>.*?))?\s*-->\s*$")
END = re.compile(r"^<!--\s*/lstm-shapes\s*-->\s*$")
# Anything that starts like one of our markers but is not one is a mistake worth stopping for.
LOOKS_LIKE = re.compile(r"^<!--\s*/?lstm-shapes\b")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# A list item's bullet and the spaces after it: its content starts at the column after them.
LIST_ITEM = re.compile(r"^(?P<indent> *)(?P<bullet>[-+*]|\d{1,9}[.)])(?P<gap> +|$)")
# Markdown's line endings are LF, CRLF and CR only (str.splitlines also splits on \f, \x85, \u2028...).
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
# The next line of a block that may matter: a marker, or a fence after any whitespace (str.strip's,
# which closing a fence ignores); the lines before it are content, jumped over.
CANDIDATE = re.compile(r"\n[^\S\r\n]*[<`~]")
BOM = "\ufeff"

Render = Callable[[list[str]], str]
T = TypeVar("T")
R = TypeVar("R")


class DocsError(LstmShapesError):
    """A document cannot be processed: a malformed marker, bad arguments, or an unreadable file."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}: " if line else f"{path}: " if path else ""
        super().__init__(where + message)

    def __reduce__(self) -> tuple[type, tuple]:  # a forked check sends its errors back pickled
        return type(self), (self.path, self.line, self.message)


class DocsErrors(DocsError):
    """Every error found in one run; the command line prints each on its own line."""

    def __init__(self, errors: list[DocsError]) -> None:
        self.errors = [e for error in errors for e in getattr(error, "errors", [error])]
        first = self.errors[0]
        more = len(self.errors) - 1
        super().__init__(first.path, first.line, first.message + (f" (and {more} more)" if more else ""))

    def __reduce__(self) -> tuple[type, tuple]:
        return type(self), (self.errors,)


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
        where = f"{self.path}:{self.line}"
        import difflib  # only a stale block is shown as a diff

        lines = difflib.unified_diff(
            LINE.findall(self.old),
            LINE.findall(self.new),
            fromfile=f"{where} (in the file)",
            tofile=f"{where} (lstm-shapes {self.args})",
        )
        return "".join(line.rstrip("\r\n") + "\n" for line in lines)


def body(output: str, fmt: str, newline: str = "\n", indent: str = "") -> str:
    """What goes between the markers: the output with a blank line on each side, fenced if not Markdown.

    The blank lines keep prettier and mdformat from changing the page; `indent` (the marker's own)
    keeps a block inside a list item in that item.
    """
    fence = BY_NAME[fmt].fence if fmt in BY_NAME else ""
    text = output if fmt == "markdown" else f"```{fence}\n{output}```\n"
    text = f"\n{text}\n"
    if not indent:  # the usual block: nothing to add line by line
        return text if newline == "\n" else text.replace("\n", newline)
    lines = text.split("\n")[:-1]
    return "".join((indent + line if line else line) + newline for line in lines)


def marker_format(args: list[str]) -> str:
    fmt = "markdown"
    for index, arg in enumerate(args):
        if arg in ("--format", "-f") and index + 1 < len(args):
            fmt = args[index + 1]
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
    return fmt


def width(line: str) -> int:
    """The column where the line's text starts (tabs stop every 4 columns, as in Markdown)."""
    lead = line[: len(line) - len(line.lstrip(" \t"))]
    return len(lead.expandtabs(4))


@dataclass
class _Fence:
    char: str
    length: int
    base: int  # the content column of the container it opened in
    line: int

    def closed_by(self, line: str) -> bool:
        rest = line.strip()
        return (width(line) - self.base < 4 and len(rest) >= self.length
                and rest == self.char * len(rest))


def _opens_fence(text: str, base: int, number: int) -> _Fence | None:
    """The fence `text` (a line without its indentation) opens, if any."""
    match = FENCE.match(text)
    if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
        return None
    return _Fence(match["fence"][0], len(match["fence"]), base, number)


@dataclass
class _Open:
    line: int  # 1-based
    args: str
    indent: str  # the begin marker's indentation, given to every generated line
    newline: str  # the begin marker's line ending, given to every generated line
    base: int


def refresh_text(text: str, render: Render, path: str = "<text>") -> tuple[str, list[Block]]:
    """The text with every block refreshed, and the blocks found; raises DocsError(s) for bad markers.

    `text` has no BOM. Each block is generated with its begin marker's indentation and line ending
    (LF, CRLF or CR), so a second run changes nothing. Every bad marker is reported, not only the first.
    """
    out: list[str] = []  # the text up to `copied`, blocks refreshed
    copied = 0
    blocks: list[Block] = []
    errors: list[DocsError] = []
    items: list[int] = []  # content columns of the list items the current line may belong to
    fence: _Fence | None = None  # fenced code outside a block
    block: _Open | None = None
    inner = 0  # where the open block's content starts
    inner_fence: _Fence | None = None  # fenced code inside a block: its lines are content
    # A block's plain lines are jumped over, but re's ^ knows only \n: a lone CR ends no line for it.
    jump = "\r" not in text or text.count("\r") == text.count("\r\n")
    position, number, size = 0, 0, len(text)
    while position < size:
        if block is not None and jump:
            found = CANDIDATE.search(text, position - 1)  # from the \n that ends the line before
            if found is None:
                break  # the rest is the open block's content
            number += text.count("\n", position, found.start() + 1)
            position = found.start() + 1
        line_start = position
        position = LINE.match(text, position).end()  # type: ignore[union-attr]
        raw = text[line_start:position]
        line = raw.rstrip("\r\n")
        number += 1
        if block is not None:
            if inner_fence is not None:
                if inner_fence.closed_by(line):
                    inner_fence = None
                continue
            stripped = line.lstrip(" \t")
            if not stripped or stripped[0] not in "<`~" or width(line) - block.base >= 4:
                continue
            if END.match(stripped):
                old = text[inner:line_start]
                try:
                    new = _render(block, render, path)
                except DocsError as exc:
                    errors.append(exc)
                    new = old
                blocks.append(Block(path, block.line, block.args, old, new))
                out += [text[copied:inner], new]
                copied, block = line_start, None
                continue
            if BEGIN.match(stripped):
                errors.append(DocsError(path, number, f"a begin marker inside the block opened at line {block.line}; "
                                        "close it with <!-- /lstm-shapes --> first"))
                # The outer block is left as it is; the inner one is read on.
                block, inner = _begin(stripped, raw, line, number, block.base), position
                continue
            if LOOKS_LIKE.match(stripped):
                errors.append(_malformed(path, number))
            inner_fence = _opens_fence(stripped, block.base, number)
            continue
        if fence is not None:
            if fence.closed_by(line):
                fence = None
            continue
        stripped = line.lstrip(" \t")
        if not stripped:
            continue
        column = width(line)
        while items and items[-1] > column:
            items.pop()  # a line left of an item's content column ends that item
        base = items[-1] if items else 0
        if column - base >= 4:
            continue  # indented code: its markers are examples
        item = LIST_ITEM.match(line.expandtabs(4))
        if item:
            gap = len(item["gap"])
            start = len(item["indent"]) + len(item["bullet"])
            items.append(start + (gap if 0 < gap <= 4 else 1))
            base, stripped = items[-1], line.expandtabs(4)[item.end():]
        if stripped[:1] in ("`", "~"):
            fence = _opens_fence(stripped, base, number)
            continue
        if item or "<!--" not in stripped:
            continue
        if BEGIN.match(stripped):
            block, inner = _begin(stripped, raw, line, number, base), position
        elif END.match(stripped):
            errors.append(DocsError(path, number,
                                    "an end marker <!-- /lstm-shapes --> without a begin marker before it"))
        elif LOOKS_LIKE.match(stripped):
            errors.append(_malformed(path, number))
    if block is not None:
        hint = (f" (the fence opened at line {inner_fence.line} inside the block is never closed)"
                if inner_fence is not None else "")
        errors.append(DocsError(path, block.line, "a begin marker without its end marker <!-- /lstm-shapes -->" + hint))
    if errors:
        raise errors[0] if len(errors) == 1 else DocsErrors(errors)
    out.append(text[copied:])
    return "".join(out), blocks


def _begin(stripped: str, raw: str, line: str, number: int, base: int) -> _Open:
    args = (BEGIN.match(stripped)["args"] or "").strip()  # type: ignore[index]
    return _Open(number, args, line[: len(line) - len(stripped)], raw[len(line):] or "\n", base)


def _malformed(path: str, number: int) -> DocsError:
    return DocsError(path, number, "a malformed marker: write <!-- lstm-shapes OPTIONS --> or "
                     "<!-- /lstm-shapes -->, each alone on its line")


def _render(block: _Open, render: Render, path: str) -> str:
    args, line = block.args, block.line
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
    return body(output, marker_format(argv), block.newline, block.indent)


# --- Files -----------------------------------------------------------------------------------------
# Reading opens regular files only; writing is all or nothing: every target is checked, then every
# temporary file written, then every file read again, and only if none changed are they renamed.

Notice = Callable[[str], None]
KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
         stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


@dataclass
class FileResult:
    path: Path
    original: bytes
    updated: bytes
    blocks: list[Block] = field(default_factory=list)
    status: os.stat_result | None = None  # the file's, when it was read

    @property
    def changed(self) -> bool:
        return self.original != self.updated


def _kind(mode: int) -> str:
    return KINDS.get(stat.S_IFMT(mode), "not a regular file")


def markdown_files(paths: Iterable[str], skipped: Notice | None = None) -> list[Path]:
    """The files named, and the *.md files under the directories named (hidden folders skipped).

    A FIFO, device or socket named on the command line is an error; one found in a folder is
    skipped, with a notice. Symbolic links to folders are followed when named, not inside a folder.
    """
    found: list[tuple[Path, os.stat_result]] = []
    errors: list[DocsError] = []
    for name in paths:
        if not name:
            errors.append(DocsError("", None, 'an empty path ("") names no file or folder'))
            continue
        try:
            status = os.stat(name)
        except OSError as exc:
            errors.append(DocsError(name, None, "no such file or directory" if isinstance(exc, FileNotFoundError)
                                    else f"cannot read: {exc.strerror}"))
            continue
        if stat.S_ISDIR(status.st_mode):
            for root, dirs, files in os.walk(name):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
                for file in sorted(f for f in files if f.endswith(".md")):
                    path = Path(root) / file
                    try:
                        inner = os.stat(path)
                    except OSError as exc:
                        if skipped is not None:
                            skipped(f"{path}: skipped: {exc.strerror.lower() if exc.strerror else exc}")
                        continue
                    if stat.S_ISREG(inner.st_mode):
                        found.append((path, inner))
                    elif skipped is not None:
                        skipped(f"{path}: skipped: {_kind(inner.st_mode)}, not a regular file")
        elif stat.S_ISREG(status.st_mode):
            found.append((Path(name), status))
        else:
            errors.append(DocsError(name, None, f"{_kind(status.st_mode)}, not a regular file"))
    if errors:
        raise errors[0] if len(errors) == 1 else DocsErrors(errors)
    # One file named twice (or through a link) is read and written once.
    unique: dict[tuple[int, int], Path] = {}
    for path, status in found:
        unique.setdefault((status.st_dev, status.st_ino), path)
    return list(unique.values())


def read_regular(path: Path | str) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file and its status; never blocks on a FIFO that took its place."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise DocsError(str(path), None, f"cannot read: {exc.strerror}") from None
    with os.fdopen(handle, "rb") as stream:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise DocsError(str(path), None, f"{_kind(status.st_mode)}, not a regular file")
        try:
            return stream.read(), status
        except OSError as exc:
            raise DocsError(str(path), None, f"cannot read: {exc.strerror}") from None


def process_file(path: Path, render: Render) -> FileResult:
    display = str(path)
    raw, status = read_regular(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(re.findall(rb"\r\n|\r|\n", raw[: exc.start])) + 1
        raise DocsError(display, line, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    bom = text.startswith(BOM)
    fresh, blocks = refresh_text(text[1:] if bom else text, render, display)
    updated = ((BOM if bom else "") + fresh).encode("utf-8")
    return FileResult(path, raw, updated, blocks, status)


def process(paths: Iterable[str], render: Render, skipped: Notice | None = None) -> list[FileResult]:
    """Read and refresh every file in memory; raises every DocsError found before anything is written."""
    cache: dict[tuple[str, ...], str] = {}

    def cached(argv: list[str]) -> str:
        key = tuple(argv)
        if key not in cache:
            cache[key] = render(argv)
        return cache[key]

    errors: list[DocsError] = []
    results = []
    for path in markdown_files(paths, skipped):
        try:
            results.append(process_file(path, cached))
        except DocsError as exc:
            errors.append(exc)
    if errors:
        raise DocsErrors(errors)
    return results


# One file's check: its index in the run, its stale blocks, how many blocks it has, or why it cannot be read.
FileCheck = tuple[int, list[Block], int, "DocsError | None"]
# Below this much Markdown a check runs in one process: forking would cost more than it saves.
PARALLEL_BYTES = 256 * 1024
MAX_WORKERS = 4  # each process holds its own copy of what it renders


def check(paths: Iterable[str], render: Render, skipped: Notice | None = None,
          cached: int = 32, workers: int | None = None) -> tuple[list[Block], int, int]:
    """The stale blocks, and how many blocks and files were read; raises DocsErrors after the last file.

    For `docs check`, which writes nothing: each process holds one file at a time, keeps only its
    stale blocks and the last `cached` renderings (for repeated markers). With enough Markdown the
    files are shared among `workers` processes forked from this one (by default one per CPU, up to
    MAX_WORKERS, none while every CPU is busy); the answer is the same, in the same order.
    """
    files = markdown_files(paths, skipped)
    shares = _shares(files, workers)

    def work(share: list[tuple[int, Path]]) -> list[FileCheck]:
        return _check_files(share, render, cached)

    errors: list[DocsError] = []
    stale: list[Block] = []
    blocks = count = 0
    results = _forked(shares, work) if len(shares) > 1 else work(shares[0])
    for _, file_stale, file_blocks, error in sorted(results, key=lambda result: result[0]):
        if error is not None:
            errors.append(error)
            continue
        count += 1
        blocks += file_blocks
        stale += file_stale
    if errors:
        raise DocsErrors(errors)
    return stale, blocks, count


def _check_files(files: list[tuple[int, Path]], render: Render, cached: int) -> list[FileCheck]:
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

    results: list[FileCheck] = []
    for index, path in files:
        try:
            result = process_file(path, render_cached)
        except DocsError as exc:
            results.append((index, [], 0, exc))
            continue
        results.append((index, [block for block in result.blocks if block.stale], len(result.blocks), None))
    return results


def _shares(files: list[Path], workers: int | None) -> list[list[tuple[int, Path]]]:
    """The numbered files in one share per process, of about the same size each (largest file first)."""
    numbered = list(enumerate(files))
    if len(files) < 2 or workers == 1 or not _can_fork():
        return [numbered]
    sizes = []
    for path in files:
        try:
            sizes.append(os.stat(path).st_size)
        except OSError:  # reading it will say why
            sizes.append(0)
    if workers is None:
        if sum(sizes) < PARALLEL_BYTES:
            return [numbered]
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if hasattr(os, "getloadavg") and os.getloadavg()[0] >= cpus:
            return [numbered]  # every CPU busy already: more processes would only wait for one another
        workers = min(cpus, MAX_WORKERS)
    shares: list[list[tuple[int, Path]]] = [[] for _ in range(min(workers, len(files)))]
    loads = [0] * len(shares)
    for index in sorted(range(len(files)), key=lambda i: -sizes[i]):
        least = loads.index(min(loads))
        shares[least].append(numbered[index])
        loads[least] += sizes[index]
    return [sorted(share) for share in shares]


def _can_fork() -> bool:
    """Whether a forked copy of this process is safe: POSIX fork, not macOS (whose system libraries
    may not survive it), and no thread that the copy would lack."""
    threading = sys.modules.get("threading")
    return hasattr(os, "fork") and sys.platform != "darwin" and (threading is None or threading.active_count() == 1)


def _forked(shares: list[list[T]], work: Callable[[list[T]], list[R]]) -> list[R]:
    """`work` on every share, the first in this process and each other one in a forked child; all results.

    A child sends its results through a pipe. A child that cannot be started or fails in any way (an
    exception, a crash, a result that will not pickle) sends nothing, and its share is done again
    here, so what is raised or returned is what one process would give.
    """
    import pickle

    children: dict[int, tuple[int, list[T]]] = {}  # pid -> the read end of its pipe, its share
    here = shares[:1]
    try:
        for share in shares[1:]:
            try:
                read, write = os.pipe()
            except OSError:  # no file descriptor to spare: this process does it
                here.append(share)
                continue
            try:
                pid = os.fork()
            except OSError:  # no process to spare: this one does it
                os.close(read)
                os.close(write)
                here.append(share)
                continue
            if pid == 0:  # the child: its share, sent, then gone without running any of the parent's code
                try:
                    os.close(read)
                    data = pickle.dumps(work(share), pickle.HIGHEST_PROTOCOL)
                    with open(write, "wb") as stream:
                        stream.write(data)
                finally:
                    os._exit(0)
            os.close(write)
            children[pid] = (read, share)
        results = [result for share in here for result in work(share)]
        for pid in list(children):
            read, share = children.pop(pid)
            with open(read, "rb") as stream:
                data = stream.read()
            _reap(pid)
            try:
                results += pickle.loads(data)
            except Exception:  # nothing, or not all of it, came: do it here
                results += work(share)
        return results
    finally:
        if children:  # this process gave up: stop the children it no longer waits for
            import signal

            for pid, (read, _) in children.items():
                os.close(read)
                os.kill(pid, signal.SIGKILL)
                _reap(pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # reaped already: a program that ignores SIGCHLD
        pass


def _problem(result: FileResult) -> str | None:
    """Why the file cannot be replaced with its owner, group and mode kept, if it cannot."""
    target = os.path.realpath(result.path)
    try:
        status = os.stat(target)
    except OSError as exc:
        return f"cannot update: {exc.strerror}; nothing was written"
    mode = stat.S_IMODE(status.st_mode)
    # Root may write anything: a file nobody may write is read-only all the same.
    if not mode & 0o222 or not os.access(target, os.W_OK):
        return f"read-only (mode {mode:04o}); nothing was written; make it writable to update it"
    folder = os.path.dirname(target)
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"its folder {folder} is not writable (an update writes a temporary file there, then renames it); "
                "nothing was written")
    if os.geteuid() != 0:
        if status.st_uid != os.geteuid():
            return (f"owned by another user (uid {status.st_uid}); replacing it would make it yours; "
                    "nothing was written")
        if status.st_gid != os.getegid() and status.st_gid not in os.getgroups():
            return (f"its group (gid {status.st_gid}) is not one of yours; replacing it would change its group; "
                    "nothing was written")
    return None


def _write_temporary(result: FileResult, target: str) -> str:
    """A temporary file beside the target with the new bytes and the target's owner, group and mode."""
    status = os.stat(target)
    import tempfile  # only `docs update` writes; a check starts faster and smaller without it

    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(result.updated)
            stream.flush()
            own = os.fstat(handle)
            if (own.st_uid, own.st_gid) != (status.st_uid, status.st_gid):
                os.fchown(handle, status.st_uid, status.st_gid)
            os.fchmod(handle, stat.S_IMODE(status.st_mode))  # after chown, which may clear set-id bits
            os.fsync(handle)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _unchanged(result: FileResult, target: str) -> bool:
    """Whether the file still holds the bytes (and owner, group, mode) it had when it was read."""
    try:
        now, status = read_regular(target)
    except DocsError:
        return False
    before = result.status
    same = before is None or (status.st_mode, status.st_uid, status.st_gid) == (
        before.st_mode, before.st_uid, before.st_gid)
    return same and now == result.original


def write_all(results: Iterable[FileResult]) -> list[FileResult]:
    """Replace every changed file, or none; raises DocsErrors, one per problem, when none was written.

    A file that is a symbolic link is updated at its target; the link stays a link.
    """
    changed = [result for result in results if result.changed]
    errors = [DocsError(str(r.path), None, problem) for r in changed if (problem := _problem(r))]
    if errors:
        raise DocsErrors(errors)
    temporaries: dict[str, str] = {}  # target -> temporary file
    try:
        for result in changed:
            target = os.path.realpath(result.path)
            try:
                temporaries[target] = _write_temporary(result, target)
            except OSError as exc:
                errors.append(DocsError(str(result.path), None, f"cannot write a temporary file beside it: "
                                        f"{exc.strerror}; nothing was written"))
        # The render may take seconds: an edit made meanwhile must not be lost.
        errors += [DocsError(str(r.path), None, "changed while it was being updated; nothing was written; "
                             "run the command again to update it")
                   for r in changed if not _unchanged(r, os.path.realpath(r.path))]
        if errors:
            raise DocsErrors(errors)
        done: list[FileResult] = []
        for result in changed:
            target = os.path.realpath(result.path)
            try:
                os.replace(temporaries.pop(target), target)
            except OSError as exc:
                written = ", ".join(str(r.path) for r in done) or "none"
                raise DocsError(str(result.path), None, f"cannot replace it: {exc.strerror}; "
                                f"files already updated: {written}") from None
            done.append(result)
        return done
    finally:
        for temporary in temporaries.values():
            os.unlink(temporary)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace one file's content in one step, keeping its owner, group and mode."""
    original, status = read_regular(path)
    write_all([FileResult(path, original, data, [], status)])
