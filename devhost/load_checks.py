"""The Python worker's load-time checks on each function, run by devhost when it indexes the app.

On Azure the Python worker matches every function's Python signature against its bindings
while it answers the host's metadata request; one refusal fails that request and the host loads
none of the app. devhost runs the same checks (written from the worker's rules in
`azure-functions-runtime` / `azure-functions-python-worker`) in its worker process, so such an
app is refused here at start with the worker's message instead of only after deployment.

The rules, per function:
- no binding has direction "inout"; a `$return` binding has direction "out";
- every Python parameter has a binding and every binding (other than `$return`) a parameter;
  an unbound `context` parameter is the invocation context and, if annotated, must be
  `azure.functions.Context`;
- an annotation is a class or a `typing` generic (`typing.Dict[str, Any]`); built-in generics
  (`dict[str, Any]`), unions (`dict | None`, `Optional[dict]`) and strings are refused;
- `func.Out[T]` exactly when the binding's direction is "out", with one type argument;
- the annotation is a type the binding's converter (azure.functions' binding registry) accepts;
- a `$return` binding's return annotation is a class the converter can write, never `Out`.

Whether the function has a return binding (explicit `$return`, or a trigger with implicit
output such as activities) decides what it may return; see `Checked.has_return`.
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from dataclasses import dataclass
from typing import Any

_IN, _OUT, _INOUT = 0, 1, 2  # azure.functions BindingDirection values
_UNDEFINED = 0  # azure.functions DataType.UNDEFINED


class FunctionLoadError(RuntimeError):
    """The worker would refuse this function (and so the host would load none of the app)."""

    def __init__(self, function_name: str, reason: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {reason}")
        self.function_name = function_name


@dataclass(frozen=True)
class Checked:
    """A function that passed: whether the worker gives it a return binding."""

    name: str
    has_return: bool


def no_return_binding(function_name: str) -> str:
    """The worker's invocation failure when a function without `$return` returns a value."""
    return f"function {function_name!r} without a $return binding returned a non-None value"


def check(fn: Any) -> Checked:
    """Check one indexed function (azure.functions' `Function`); raise FunctionLoadError."""
    name = fn.get_function_name()
    user = fn.get_user_function()
    try:
        params = dict(inspect.signature(user).parameters)
        hints = typing.get_type_hints(user)
    except Exception as exc:  # the worker fails the same way: the annotation cannot resolve
        raise FunctionLoadError(name, f"{type(exc).__name__}: {exc}") from exc

    bound: dict[str, Any] = {}
    explicit_return: str | None = None
    implicit_return: str | None = None
    for binding in fn.get_bindings():
        if binding.direction == _INOUT:
            raise FunctionLoadError(name, '"inout" bindings are not supported')
        if binding.name == "$return":
            if binding.direction != _OUT:
                raise FunctionLoadError(name, '"$return" binding must have direction set to "out"')
            explicit_return = explicit_return or binding.type
            continue
        bound[binding.name] = binding
        if _implicit_output(binding.type):
            implicit_return = binding.type

    if "context" in params and "context" not in bound:
        params.pop("context")
        if "context" in hints:
            annotation = hints["context"]
            if not isinstance(annotation, type) or annotation.__name__ != "Context":
                raise FunctionLoadError(
                    name,
                    'the "context" parameter is expected to be of type '
                    f'azure.functions.Context, got "{annotation!r}"',
                )

    unbound = set(params) - set(bound)
    if unbound:
        raise FunctionLoadError(
            name,
            "the following parameters are declared in Python but not in the function "
            f"definition (function.json or function decorators):  {unbound!r}",
        )
    missing = set(bound) - set(params)
    if missing:
        raise FunctionLoadError(
            name,
            "Extra parameters in binding definition — the following parameters are declared "
            f"as bindings but are not present in Python: {missing!r}",
        )

    for param in params:
        if param in hints:
            _check_parameter(name, param, hints[param], bound[param])

    if explicit_return is not None and "return" in hints:
        _check_return(name, hints["return"], explicit_return)
    return Checked(name, has_return=explicit_return is not None or implicit_return is not None)


def _check_parameter(name: str, param: str, annotation: Any, binding: Any) -> None:
    is_out = _is_out(annotation)
    pytype = annotation
    if is_out:
        args = typing.get_args(annotation)
        if len(args) != 1:
            raise FunctionLoadError(
                name, f"binding {param} has invalid Out annotation {annotation!r}"
            )
        pytype = args[0]
    if not isinstance(pytype, type) and not _typing_generic(pytype):
        raise FunctionLoadError(
            name, f"binding {param} has invalid non-type annotation {annotation!r}"
        )
    binding_out = binding.direction == _OUT
    if binding_out and not is_out:
        raise FunctionLoadError(
            name,
            f'binding {param} is declared to have the "out" direction, but its annotation '
            "in Python is not a subclass of azure.functions.Out",
        )
    if is_out and not binding_out:
        raise FunctionLoadError(
            name,
            f'binding {param} is declared to have the "in" direction in the binding '
            "decorator, but its annotation is azure.functions.Out in Python",
        )
    # str/bytes on a binding without implicit output is read as the generic binding
    kind = binding.type
    if pytype in (str, bytes) and not _implicit_output(kind):
        kind = "generic"
    accepted = _accepts_output(kind, pytype) if is_out else _accepts_input(kind, pytype)
    if accepted:
        return
    type_name = getattr(pytype, "__name__", repr(pytype))
    if binding.data_type != _UNDEFINED:  # the worker's wording when a dataType is not stated
        raise FunctionLoadError(
            name,
            f'binding type "{param!r}" and dataType "{binding.type}" in the binding '
            "decorator do not match the corresponding function parameter's Python type "
            f"annotation {type_name}",
        )
    raise FunctionLoadError(
        name,
        f'type of {param} binding in the binding decorator "{binding.type}" does not match '
        f'its Python annotation "{type_name}"',
    )


def _check_return(name: str, annotation: Any, binding_type: str) -> None:
    if _typing_generic(annotation) and _named(typing.get_origin(annotation), "Out"):
        raise FunctionLoadError(name, "return annotation should not be azure.functions.Out")
    if not isinstance(annotation, type):
        raise FunctionLoadError(name, f"has invalid non-type return annotation {annotation!r}")
    if not _accepts_output(binding_type, annotation):
        raise FunctionLoadError(
            name,
            f'Python return annotation "{annotation.__name__}" does not match binding type '
            f'"{binding_type}"',
        )


# -- what a binding accepts: azure.functions' converters, else the generic binding ----------
def _converter(binding_type: str) -> Any:
    import azure.functions as func

    registry = func.get_binding_registry()
    return registry.get(binding_type) if registry is not None else None


def _implicit_output(binding_type: str) -> bool:
    """Whether the binding's trigger returns its result (activities, orchestrators...)."""
    converter = _converter(binding_type)
    if converter is None:  # generic binding: everything but the durable client returns
        return binding_type != "durableClient"
    has = getattr(converter, "has_implicit_output", None)
    return bool(has()) if has is not None else False


def _accepts_input(binding_type: str, pytype: Any) -> bool:
    converter = _converter(binding_type)
    if converter is None:
        return issubclass(pytype, (str, bytes))
    return bool(converter.check_input_type_annotation(pytype))


def _accepts_output(binding_type: str, pytype: Any) -> bool:
    converter = _converter(binding_type)
    if converter is None:
        return issubclass(pytype, (str, bytes, bytearray))
    return bool(converter.check_output_type_annotation(pytype))


# -- annotations ---------------------------------------------------------------------------
_NOT_GENERIC_ORIGINS = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)
# typing's own alias classes: `typing.Dict[str, Any]`, `typing.List`, `func.Out[str]`. The
# built-in `dict[str, Any]` is a types.GenericAlias and not one of them.
_TYPING_ALIASES = tuple(
    getattr(typing, alias) for alias in ("_GenericAlias", "_SpecialGenericAlias")
)


def _typing_generic(annotation: Any) -> bool:
    """A generic the worker takes as a type: a Generic subclass or a typing alias of one."""
    if isinstance(annotation, type):
        return issubclass(annotation, typing.Generic)  # type: ignore[arg-type]
    return (
        isinstance(annotation, _TYPING_ALIASES)
        and getattr(annotation, "__origin__", None) not in _NOT_GENERIC_ORIGINS
    )


def _named(value: Any, name: str) -> bool:
    return isinstance(value, type) and value.__name__ == name


def _is_out(annotation: Any) -> bool:
    """`func.Out[T]` (or a bare class named Out), as the worker recognises it."""
    if _typing_generic(annotation) and typing.get_origin(annotation) is not None:
        return _named(typing.get_origin(annotation), "Out")
    return _named(annotation, "Out")


class AppRefused(RuntimeError):
    """One or more functions fail the worker's checks; the host would load none of the app."""

    def __init__(self, refusals: list[FunctionLoadError], total: int) -> None:
        lines = "\n".join(f"  {refusal}" for refusal in refusals)
        super().__init__(
            f"{len(refusals)} of {total} functions refused by the Python worker's load checks "
            f"(on Azure none of the app would load):\n{lines}"
        )
        self.refusals = refusals


def check_all(functions: list[Any]) -> dict[str, Checked]:
    """Every function checked, by lower-cased name; AppRefused lists each refusal."""
    checked: dict[str, Checked] = {}
    refusals: list[FunctionLoadError] = []
    for fn in functions:
        try:
            result = check(fn)
        except FunctionLoadError as refusal:
            refusals.append(refusal)
        else:
            checked[result.name.lower()] = result
    if refusals:
        raise AppRefused(refusals, len(functions))
    return checked
