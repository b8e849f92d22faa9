"""Tiny integer expressions that print as formulas and evaluate exactly.

A parameter count is kept as an expression over the size symbols (x, h, o, ...), so the same
object prints `4·(h·(x+h)+h)`, prints `4·(2·(4+2)+2)` with the sizes substituted, and
evaluates to 56, with no chance of the three disagreeing.
"""

from __future__ import annotations

from typing import Union

Operand = Union["Expr", int]


class Expr:
    """Base of Num, Sym, Sum and Prod; combine them with + and *.

    Values: immutable, equal when their parts are equal. Plain classes rather than dataclasses,
    because every start of the command imports them and dataclasses are slow to define.
    """

    __slots__ = ()

    def _key(self) -> tuple[object, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._key()!r}"

    def __add__(self, other: Operand) -> Expr:
        return Sum.of(self, lift(other))

    def __radd__(self, other: Operand) -> Expr:
        return Sum.of(lift(other), self)

    def __mul__(self, other: Operand) -> Expr:
        return Prod.of(self, lift(other))

    def __rmul__(self, other: Operand) -> Expr:
        return Prod.of(lift(other), self)

    def evaluate(self, env: dict[str, int]) -> int:
        raise NotImplementedError

    def names(self) -> frozenset[str]:
        """The symbols the expression uses."""
        children = getattr(self, "terms", None) or getattr(self, "factors", None) or ()
        own = {self.name} if isinstance(self, Sym) else set()
        return frozenset(own.union(*(child.names() for child in children)))

    def render(self, env: dict[str, int] | None = None, *, ascii: bool = False) -> str:
        """The formula; with `env`, its symbols replaced by their values."""
        raise NotImplementedError


def lift(value: Operand) -> Expr:
    return Num(value) if isinstance(value, int) else value


class Num(Expr):
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def _key(self) -> tuple[object, ...]:
        return (self.value,)

    def evaluate(self, env: dict[str, int]) -> int:
        return self.value

    def render(self, env: dict[str, int] | None = None, *, ascii: bool = False) -> str:
        return str(self.value)


class Sym(Expr):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def _key(self) -> tuple[object, ...]:
        return (self.name,)

    def evaluate(self, env: dict[str, int]) -> int:
        return env[self.name]

    def render(self, env: dict[str, int] | None = None, *, ascii: bool = False) -> str:
        return str(env[self.name]) if env is not None else self.name


class Sum(Expr):
    __slots__ = ("terms",)

    def __init__(self, terms: tuple[Expr, ...]) -> None:
        self.terms = terms

    def _key(self) -> tuple[object, ...]:
        return self.terms

    @staticmethod
    def of(*items: Expr) -> Expr:
        flat: list[Expr] = []
        for item in items:
            flat.extend(item.terms if isinstance(item, Sum) else (item,))
        return Sum(tuple(flat))

    def evaluate(self, env: dict[str, int]) -> int:
        return sum(term.evaluate(env) for term in self.terms)

    def render(self, env: dict[str, int] | None = None, *, ascii: bool = False) -> str:
        return "+".join(term.render(env, ascii=ascii) for term in self.terms)


class Prod(Expr):
    __slots__ = ("factors",)

    def __init__(self, factors: tuple[Expr, ...]) -> None:
        self.factors = factors

    def _key(self) -> tuple[object, ...]:
        return self.factors

    @staticmethod
    def of(*items: Expr) -> Expr:
        flat: list[Expr] = []
        for item in items:
            flat.extend(item.factors if isinstance(item, Prod) else (item,))
        return Prod(tuple(flat))

    def evaluate(self, env: dict[str, int]) -> int:
        result = 1
        for factor in self.factors:
            result *= factor.evaluate(env)
        return result

    def render(self, env: dict[str, int] | None = None, *, ascii: bool = False) -> str:
        dot = "*" if ascii else "·"
        factors = self.factors
        if env is None and not ascii and len(factors) > 1:
            # A factor of one (one direction) says nothing in the symbolic form.
            factors = tuple(f for f in factors if type(f) is not Num or f.value != 1) or (Num(1),)
        out = ""
        for index, factor in enumerate(factors):
            text = factor.render(env, ascii=ascii)
            if isinstance(factor, Sum):
                text = f"({text})"
            if index:
                previous = factors[index - 1]
                # "4h" reads better than "4·h"; keep the dot wherever digits would touch.
                joined = (
                    not ascii and env is None and isinstance(previous, Num) and isinstance(factor, Sym)
                )
                out += "" if joined else dot
            out += text
        return out


def sym(name: str) -> Sym:
    return Sym(name)
