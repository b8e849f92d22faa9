"""A pickle reader that builds plain values and never imports or calls anything a pickle names.

`Unpickler(data, call, persistent).load()` runs the opcodes of one pickle over a stack of plain Python
values. A GLOBAL becomes a `Global` (a module and a name, nothing imported); every call the pickle asks
for (REDUCE, NEWOBJ, INST, OBJ) goes to the `call` hook, which returns a value or an `Obj` placeholder;
BUILD stores the state on an `Obj` and is ignored elsewhere. Hostile bytes end in `PickleError`: every
length is checked against the bytes present, the memo is a dict (no list sized by an index), dict keys
are checked before hashing (no deep recursion), nothing here recurses over the values built, and a
pickle stops after MAX_OPCODES opcodes (each makes at most one object: time and memory stay bounded).
"""

from __future__ import annotations

import _compat_pickle
import codecs
import gc
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class PickleError(Exception):
    """The bytes are not a pickle this reader accepts; the message says what and at which byte."""


class Truncated(PickleError):
    """The bytes end inside the pickle: more of the file may complete it."""


@dataclass(frozen=True)
class Global:
    """A name the pickle refers to with GLOBAL or STACK_GLOBAL; never imported."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


class Obj:
    """What the pickle would make by calling `callee`: kept as a placeholder with what it was given."""

    __slots__ = ("callee", "args", "state", "items", "entries")

    def __init__(self, callee: Any, args: tuple[Any, ...]) -> None:
        self.callee = callee
        self.args = args
        self.state: Any = None  # from BUILD
        self.items: list[Any] = []  # from APPEND(S) and ADDITEMS
        self.entries: dict[Any, Any] = {}  # from SETITEM(S)


# (callee, args, how) -> value; how is "call" (REDUCE, INST, OBJ) or "new" (NEWOBJ, NEWOBJ_EX)
CallHook = Callable[[Any, tuple[Any, ...], str], Any]
PersistentHook = Callable[[Any], Any]

# A torch checkpoint takes 30 to 60 opcodes a tensor; one byte can make a ~60-byte object (`]`, `(`, MEMOIZE),
# so a 64 MB pickle could otherwise take gigabytes and a minute.
MAX_OPCODES = 5_000_000
MAX_KEY_DEPTH = 16  # a tuple used as a dict key nests at most this deep (hashing recurses)
HIGHEST_PROTOCOL = 5


def _check_key(value: Any, depth: int = 0) -> None:
    """Refuse a dict key or set item that would be unhashable or hash by deep recursion."""
    if isinstance(value, (str, bytes, int, float, complex, type(None), Global)):
        return
    if isinstance(value, tuple) and depth < MAX_KEY_DEPTH:
        for item in value:
            _check_key(item, depth + 1)
        return
    if isinstance(value, frozenset):  # its items were checked when it was built
        return
    if type(value).__hash__ is object.__hash__:  # hashed by identity: Obj and the hooks' own values
        return
    raise PickleError(f"a dict key or set item of type {type(value).__name__} (unhashable or nested too deep)")


class Unpickler:
    """One pass over one pickle's opcodes, from `pos` to its STOP."""

    def __init__(self, data: bytes, call: CallHook, persistent: PersistentHook, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.call = call
        self.persistent = persistent
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.globals: dict[Global, None] = {}  # every name referred to, in order of first mention

    # ---- reading bytes -------------------------------------------------------------------------
    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Truncated(f"the pickle is truncated: {n} bytes wanted at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def line(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise Truncated(f"the pickle is truncated: a line starting at byte {self.pos} never ends")
        chunk = self.data[self.pos : end]
        self.pos = end + 1
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def sized(self, fmt: str) -> bytes:
        return self.take(self.unpack(fmt))

    # ---- stack helpers ---------------------------------------------------------------------------
    def push(self, value: Any) -> None:
        """Push onto the current stack (looked up after a MARK was popped, unlike a bound `stack.append`)."""
        self.stack.append(value)

    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise PickleError("an opcode wants a MARK that was never set")
        items = self.stack
        self.stack = self.marks.pop()
        return items

    def global_(self, module: str, name: str) -> Global:
        if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names, as pickle's fix_imports maps them
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = Global(module, name)
        self.globals.setdefault(found, None)
        return found

    def setitems(self, target: Any, items: list[Any]) -> None:
        if len(items) % 2:
            raise PickleError("SETITEMS with an odd number of items")
        entries = target.entries if isinstance(target, Obj) else target
        if not isinstance(entries, dict):
            raise PickleError(f"SETITEM on a {type(target).__name__}")
        for i in range(0, len(items), 2):
            _check_key(items[i])
            entries[items[i]] = items[i + 1]

    def append(self, target: Any, items: list[Any]) -> None:
        if isinstance(target, list):
            target.extend(items)
        elif isinstance(target, Obj):
            target.items.extend(items)
        else:
            raise PickleError(f"APPEND to a {type(target).__name__}")

    def make_set(self, items: list[Any]) -> list[Any]:
        for item in items:
            _check_key(item)
        return items

    # ---- the loop ----------------------------------------------------------------------------------
    def load(self) -> Any:
        """The pickle's value; `self.pos` is left just after its STOP."""
        collecting = gc.isenabled()
        gc.disable()  # the collector would rescan every container made so far, again and again: twice the time
        try:
            return self._run()
        finally:
            if collecting:
                gc.enable()

    def _run(self) -> Any:
        for _ in range(MAX_OPCODES):
            start = self.pos
            if start >= len(self.data):
                raise Truncated("the pickle ends before its STOP opcode (truncated)")
            code = self.data[start]
            self.pos += 1
            handler = OPCODES.get(code)
            if handler is None:
                raise PickleError(f"unknown pickle opcode 0x{code:02x} at byte {start}")
            try:
                if handler(self):
                    if len(self.stack) != 1 or self.marks:
                        raise PickleError(f"STOP at byte {start} with {len(self.stack)} values on the stack")
                    return self.stack[0]
            except PickleError:
                raise
            except RecursionError:
                raise PickleError(f"{where(code, start)} nests too deep") from None
            except IndexError:
                raise PickleError(f"{where(code, start)} finds too few values on the stack") from None
            except KeyError as error:
                raise PickleError(f"{where(code, start)} reads memo entry {error} that was never stored") from None
            except (ValueError, TypeError, OverflowError, UnicodeError, struct.error) as error:
                raise PickleError(f"{where(code, start)} is malformed ({type(error).__name__})") from None
        raise PickleError(f"the pickle runs more than {MAX_OPCODES:,} opcodes (some 100,000 tensors' worth); "
                          "this reader stops there")


def where(code: int, start: int) -> str:
    return f"opcode 0x{code:02x} at byte {start}"


def _decode(raw: bytes) -> str:
    """A Python 2 str: UTF-8 when it is, else Latin-1 (every byte a character)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _quoted(raw: bytes) -> str:
    """The body of protocol 0's STRING: a repr in quotes with backslash escapes."""
    if len(raw) < 2 or raw[:1] not in (b"'", b'"') or raw[-1:] != raw[:1]:
        raise PickleError("a STRING opcode without matching quotes")
    return _decode(codecs.escape_decode(raw[1:-1])[0])


def _int_line(raw: bytes) -> Any:
    if raw == b"00":
        return False
    if raw == b"01":
        return True
    return int(raw)


def _stop(u: Unpickler) -> bool:
    return True


def _reduce(u: Unpickler) -> None:
    args = u.stack.pop()
    if not isinstance(args, (tuple, list)):
        raise PickleError("REDUCE with arguments that are not a tuple")
    u.stack[-1] = u.call(u.stack[-1], tuple(args), "call")


def _newobj(u: Unpickler) -> None:
    args = u.stack.pop()
    if not isinstance(args, (tuple, list)):
        raise PickleError("NEWOBJ with arguments that are not a tuple")
    u.stack[-1] = u.call(u.stack[-1], tuple(args), "new")


def _newobj_ex(u: Unpickler) -> None:
    u.stack.pop()  # keyword arguments: kept nowhere, nothing is called
    _newobj(u)


def _build(u: Unpickler) -> None:
    state = u.stack.pop()
    target = u.stack[-1]
    if isinstance(target, Obj):
        target.state = state
    # on anything else (an OrderedDict's attributes, a tensor's hooks) the state carries no tensor name


def _inst(u: Unpickler) -> None:
    module, name = _decode(u.line()), _decode(u.line())
    found = u.global_(module, name)
    u.push(u.call(found, tuple(u.pop_mark()), "call"))


def _obj(u: Unpickler) -> None:
    items = u.pop_mark()
    if not items:
        raise PickleError("OBJ without a class")
    u.push(u.call(items[0], tuple(items[1:]), "call"))


def _global(u: Unpickler) -> None:
    module, name = _decode(u.line()), _decode(u.line())
    u.stack.append(u.global_(module, name))


def _stack_global(u: Unpickler) -> None:
    name, module = u.stack.pop(), u.stack.pop()
    if not isinstance(module, str) or not isinstance(name, str):
        raise PickleError("STACK_GLOBAL with a module or name that is not a string")
    u.stack.append(u.global_(module, name))


def _pop(u: Unpickler) -> None:
    if u.stack:
        u.stack.pop()
    else:
        u.pop_mark()


def _put(u: Unpickler, index: int) -> None:
    u.memo[index] = u.stack[-1]


def _long4(u: Unpickler) -> None:
    n = u.unpack("<i")
    if n < 0:
        raise PickleError("LONG4 with a negative length")
    u.stack.append(int.from_bytes(u.take(n), "little", signed=True))


def _proto(u: Unpickler) -> None:
    version = u.take(1)[0]
    if version > HIGHEST_PROTOCOL:
        raise PickleError(f"pickle protocol {version} is newer than {HIGHEST_PROTOCOL}")


def _dict(u: Unpickler) -> None:
    items = u.pop_mark()
    made: dict[Any, Any] = {}
    u.setitems(made, items)
    u.stack.append(made)


def _setitem(u: Unpickler) -> None:
    value = u.stack.pop()
    key = u.stack.pop()
    u.setitems(u.stack[-1], [key, value])


def _additems(u: Unpickler) -> None:
    items = u.make_set(u.pop_mark())
    target = u.stack[-1]
    if isinstance(target, list):  # sets are kept as lists of checked items
        target.extend(items)
    elif isinstance(target, Obj):
        target.items.extend(items)
    else:
        raise PickleError(f"ADDITEMS to a {type(target).__name__}")


def _mark(u: Unpickler) -> None:
    u.marks.append(u.stack)
    u.stack = []


def _setitems(u: Unpickler) -> None:
    items = u.pop_mark()
    u.setitems(u.stack[-1], items)


def _appends(u: Unpickler) -> None:
    items = u.pop_mark()
    u.append(u.stack[-1], items)


def _tuple_n(n: int) -> Callable[[Unpickler], None]:
    def handler(u: Unpickler) -> None:
        if len(u.stack) < n:
            raise PickleError(f"TUPLE{n} finds too few values on the stack")
        items = tuple(u.stack[len(u.stack) - n :]) if n else ()
        del u.stack[len(u.stack) - n :]
        u.stack.append(items)

    return handler


def _no_ext(u: Unpickler) -> None:
    raise PickleError("the pickle uses the copyreg extension registry (EXT1/2/4), which this reader refuses")


def _no_buffer(u: Unpickler) -> None:
    raise PickleError("the pickle wants an out-of-band buffer (NEXT_BUFFER), which a file cannot supply")


def _frame(u: Unpickler) -> None:
    u.take(8)  # the frame's length: frames are only a hint to buffered readers


OPCODES: dict[int, Callable[[Unpickler], Any]] = {
    ord("("): _mark,
    ord("."): _stop,
    ord("0"): _pop,
    ord("1"): lambda u: u.pop_mark() and None,  # POP_MARK
    ord("2"): lambda u: u.stack.append(u.stack[-1]),
    ord("F"): lambda u: u.stack.append(float(u.line())),
    ord("G"): lambda u: u.stack.append(u.unpack(">d")),
    ord("I"): lambda u: u.stack.append(_int_line(u.line())),
    ord("J"): lambda u: u.stack.append(u.unpack("<i")),
    ord("K"): lambda u: u.stack.append(u.take(1)[0]),
    ord("M"): lambda u: u.stack.append(u.unpack("<H")),
    ord("L"): lambda u: u.stack.append(int(u.line().rstrip(b"L"))),
    0x8A: lambda u: u.stack.append(int.from_bytes(u.sized("<B"), "little", signed=True)),
    0x8B: _long4,
    ord("N"): lambda u: u.stack.append(None),
    0x88: lambda u: u.stack.append(True),
    0x89: lambda u: u.stack.append(False),
    ord("P"): lambda u: u.stack.append(u.persistent(_decode(u.line()))),
    ord("Q"): lambda u: u.stack.append(u.persistent(u.stack.pop())),
    ord("R"): _reduce,
    0x81: _newobj,
    0x92: _newobj_ex,
    ord("b"): _build,
    ord("i"): _inst,
    ord("o"): _obj,
    ord("c"): _global,
    0x93: _stack_global,
    ord("S"): lambda u: u.stack.append(_quoted(u.line())),
    ord("T"): lambda u: u.stack.append(_decode(u.sized("<i"))),
    ord("U"): lambda u: u.stack.append(_decode(u.sized("<B"))),
    ord("V"): lambda u: u.stack.append(u.line().decode("raw-unicode-escape")),
    ord("X"): lambda u: u.stack.append(u.sized("<I").decode("utf-8", "surrogatepass")),
    0x8C: lambda u: u.stack.append(u.sized("<B").decode("utf-8", "surrogatepass")),
    0x8D: lambda u: u.stack.append(u.sized("<Q").decode("utf-8", "surrogatepass")),
    ord("B"): lambda u: u.stack.append(u.sized("<I")),
    ord("C"): lambda u: u.stack.append(u.sized("<B")),
    0x8E: lambda u: u.stack.append(u.sized("<Q")),
    0x96: lambda u: u.stack.append(u.sized("<Q")),  # BYTEARRAY8: kept as bytes
    0x97: _no_buffer,
    0x98: lambda u: u.stack[-1] and None,  # READONLY_BUFFER: nothing to do for a value only read
    ord("a"): lambda u: u.append(u.stack[-2], [u.stack.pop()]),
    ord("e"): _appends,
    ord("d"): _dict,
    ord("}"): lambda u: u.stack.append({}),
    ord("l"): lambda u: u.push(u.pop_mark()),
    ord("]"): lambda u: u.stack.append([]),
    ord("t"): lambda u: u.push(tuple(u.pop_mark())),
    ord(")"): lambda u: u.stack.append(()),
    0x85: _tuple_n(1),
    0x86: _tuple_n(2),
    0x87: _tuple_n(3),
    0x8F: lambda u: u.stack.append([]),  # EMPTY_SET: a list of checked items
    0x90: _additems,
    0x91: lambda u: u.push(frozenset(u.make_set(u.pop_mark()))),
    ord("s"): _setitem,
    ord("u"): _setitems,
    ord("g"): lambda u: u.stack.append(u.memo[int(u.line())]),
    ord("h"): lambda u: u.stack.append(u.memo[u.take(1)[0]]),
    ord("j"): lambda u: u.stack.append(u.memo[u.unpack("<I")]),
    ord("p"): lambda u: _put(u, int(u.line())),
    ord("q"): lambda u: _put(u, u.take(1)[0]),
    ord("r"): lambda u: _put(u, u.unpack("<I")),
    0x94: lambda u: _put(u, len(u.memo)),
    0x80: _proto,
    0x95: _frame,
    0x82: _no_ext,
    0x83: _no_ext,
    0x84: _no_ext,
}
