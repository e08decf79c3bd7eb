"""Formats declared as data: fixed structs (`StructFormat`) and TLV attributes (`AttrSpec`).

A protocol module declares its fixed headers as `StructFormat(SomeDataclass, fields)`, or
as a dataclass whose fields carry their codes (`member`) read by `struct_format`, and its
attributes as a table `{type number: AttrSpec(name, decoder)}`; the code here does the
byte work. Every decoder raises NetlinkParseError, and only that, on bytes of the wrong size.

A later sock_diag module declares `inet_diag_msg` the same way: its big-endian ports become
`Field("sport", "2s", decode=be16)` inside a native-order struct.

A parsed record (a route, a rule, a neighbour) declares where each field comes from: `attr`
names its attribute, and `decode_record` fills it from a message's header and attributes.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Mapping

from ._compat import field, record
from ._compat import fields as fields_of
from .errors import NetlinkParseError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing.TypeAlias is 3.10+; these annotations are never evaluated
    from typing import Any, Generic, TypeAlias, TypeVar

    from _typeshed import DataclassInstance

    T = TypeVar("T")
    R = TypeVar("R", bound="DataclassInstance")
    V = TypeVar("V")
else:  # typing's costs a check 5-10 ms; StructFormat[X] is only ever read by mypy
    T = None

    class Generic:
        __slots__ = ()

        def __class_getitem__(cls, _: object) -> type:
            return cls

# struct rtattr / struct nlattr { __u16 len; __u16 type; }
ATTR_HDR = struct.Struct("=HH")
NLA_F_NESTED = 0x8000
NLA_F_NET_BYTEORDER = 0x4000
NLA_TYPE_MASK = 0x3FFF

# A forward reference as a string: Attrs is defined below and nests AttrValues.
AttrValue: TypeAlias = "int | str | bytes | tuple[int, ...] | Attrs"
Decoder: TypeAlias = "Callable[[bytes], AttrValue]"


def _align4(length: int) -> int:
    return (length + 3) & ~3


# --- fixed structs ---------------------------------------------------------------------------


@record
class Field:
    """One member of a fixed struct: a `struct` code, and optional converters for members
    whose wire form is not a native integer (big-endian ports, addresses)."""

    name: str
    code: str
    decode: Callable[[Any], Any] | None = None
    encode: Callable[[Any], Any] | None = None


class StructFormat(Generic[T]):
    """A fixed C struct in native byte order, unpacked into the frozen dataclass `cls`.

    Fields named "" are padding (code "x", "2x"...) and are skipped both ways.
    """

    __slots__ = ("_struct", "cls", "fields", "name")

    def __init__(self, name: str, cls: Callable[..., T], fields: tuple[Field, ...]) -> None:
        self.name = name
        self.cls = cls
        self.fields = fields
        self._struct = struct.Struct("=" + "".join(f.code for f in fields))

    @property
    def size(self) -> int:
        return self._struct.size

    def unpack(self, data: bytes, offset: int = 0) -> T:
        """Decode the struct at `offset`; bytes after it are ignored (they are attributes)."""
        if len(data) - offset < self.size:
            raise NetlinkParseError(f"{self.name}: {len(data) - offset} bytes, need {self.size}")
        raw = iter(self._struct.unpack_from(data, offset))
        values: dict[str, Any] = {}
        for f in self.fields:
            if not f.name:
                continue
            value = next(raw)
            values[f.name] = f.decode(value) if f.decode else value
        return self.cls(**values)

    def pack(self, value: T) -> bytes:
        """Encode a dataclass instance (used for request headers)."""
        args = []
        for f in self.fields:
            if f.name:
                member = getattr(value, f.name)
                args.append(f.encode(member) if f.encode else member)
        return self._struct.pack(*args)


_CODE = "netlink_code"
_PAD = "netlink_pad"


def member(code: str, *, pad: str = "", required: bool = False) -> Any:
    """A member of a fixed header, declared in its dataclass with its `struct` code:
    `index: int = member("i")`. `pad` is the padding before it on the wire ("x", "3x");
    `required` leaves it without the default 0. `struct_format` reads these."""
    meta = {_CODE: code, _PAD: pad}
    if required:
        return field(metadata=meta)
    return field(default=0, metadata=meta)


def struct_format(name: str, cls: type[R]) -> StructFormat[R]:
    """The StructFormat of a header dataclass whose fields are all declared with `member`,
    so a header's members, their order and their wire codes are written once."""
    fields: list[Field] = []
    for f in fields_of(cls):
        if _CODE not in f.metadata:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with member()")
        if f.metadata[_PAD]:
            fields.append(Field("", f.metadata[_PAD]))
        fields.append(Field(f.name, f.metadata[_CODE]))
    return StructFormat(name, cls, tuple(fields))


# --- attribute decoders -----------------------------------------------------------------------


def _int_decoder(code: str) -> Callable[[bytes], int]:
    fmt = struct.Struct(code)

    def decode(data: bytes) -> int:
        if len(data) != fmt.size:
            raise NetlinkParseError(f"integer attribute of {len(data)} bytes, need {fmt.size}")
        value: int = fmt.unpack(data)[0]
        return value

    return decode


u8 = _int_decoder("=B")
u16 = _int_decoder("=H")
u32 = _int_decoder("=I")
s32 = _int_decoder("=i")
u64 = _int_decoder("=Q")
be16 = _int_decoder("!H")


def raw(data: bytes) -> bytes:
    """Keep the bytes as they are."""
    return bytes(data)


def asciiz(data: bytes) -> str:
    """A NUL-terminated string (the NUL is optional on the wire)."""
    text = bytes(data).split(b"\0", 1)[0]
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NetlinkParseError(f"string attribute is not UTF-8: {text!r}") from exc


def ip_address(data: bytes) -> str:
    """An IPv4 (4 bytes) or IPv6 (16 bytes) address in canonical text form."""
    if len(data) == 4:
        return str(ipaddress.IPv4Address(bytes(data)))
    if len(data) == 16:
        return str(ipaddress.IPv6Address(bytes(data)))
    raise NetlinkParseError(f"address attribute of {len(data)} bytes")


def lladdr(data: bytes) -> str:
    """A link-layer address as colon-separated hex (aa:bb:cc:dd:ee:ff)."""
    return ":".join(f"{b:02x}" for b in bytes(data))


def struct_of(fmt: str) -> Callable[[bytes], tuple[int, ...]]:
    """A fixed struct of integers, kept as a tuple; longer data is accepted because the
    kernel appends members to such structs over time."""
    layout = struct.Struct(fmt)

    def decode(data: bytes) -> tuple[int, ...]:
        if len(data) < layout.size:
            raise NetlinkParseError(f"struct attribute of {len(data)} bytes, need {layout.size}")
        return tuple(layout.unpack_from(data))

    return decode


def nested(table: Mapping[int, AttrSpec]) -> Callable[[bytes], Attrs]:
    """Attributes nested inside an attribute, decoded with their own table."""

    def decode(data: bytes) -> Attrs:
        return parse_attrs(data, table)

    return decode


# --- attribute tables ---------------------------------------------------------------------------


@record
class AttrSpec:
    """How to read one attribute type: its name and its decoder."""

    name: str
    decode: Decoder = raw


@record
class Attr:
    """One decoded attribute; `name` is None for a type the table does not know."""

    type: int
    name: str | None
    value: AttrValue


@record
class Attrs:
    """The attributes of one message, in wire order, with typed getters by name."""

    items: tuple[Attr, ...] = ()

    def get(self, name: str) -> AttrValue | None:
        """The first attribute with this name, or None."""
        for item in self.items:
            if item.name == name:
                return item.value
        return None

    def get_int(self, name: str) -> int | None:
        return _typed(self.get(name), int, name)

    def get_str(self, name: str) -> str | None:
        return _typed(self.get(name), str, name)

    def get_tuple(self, name: str) -> tuple[int, ...] | None:
        return _typed(self.get(name), tuple, name)

    def get_nested(self, name: str) -> Attrs | None:
        return _typed(self.get(name), Attrs, name)

    def names(self) -> tuple[str | None, ...]:
        return tuple(item.name for item in self.items)


def _typed(value: object, kind: type[V], name: str) -> V | None:
    if value is None:
        return None
    if not isinstance(value, kind):
        # A table declares a decoder of another type: a bug in the table, not bad bytes.
        raise TypeError(f"attribute {name} is {type(value).__name__}, not {kind.__name__}")
    return value


def parse_attrs(data: bytes, table: Mapping[int, AttrSpec]) -> Attrs:
    """Decode a run of rtattr/nlattr TLVs with `table`; unknown types are kept as bytes."""
    items: list[Attr] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < ATTR_HDR.size:
            raise NetlinkParseError(f"{len(data) - offset} trailing bytes in attributes")
        length, kind = ATTR_HDR.unpack_from(data, offset)
        if length < ATTR_HDR.size or offset + length > len(data):
            raise NetlinkParseError(f"bad attribute length {length} at offset {offset}")
        value = bytes(data[offset + ATTR_HDR.size : offset + length])
        kind &= NLA_TYPE_MASK
        spec = table.get(kind)
        if spec is None:
            items.append(Attr(kind, None, value))
        else:
            items.append(Attr(kind, spec.name, spec.decode(value)))
        offset = min(offset + _align4(length), len(data))
    return Attrs(tuple(items))


def encode_attr(kind: int, value: bytes) -> bytes:
    """One attribute, padded to 4 bytes."""
    length = ATTR_HDR.size + len(value)
    return ATTR_HDR.pack(length, kind) + value + b"\0" * (_align4(length) - length)


# --- records declared as data -------------------------------------------------------------------

_ATTR = "netlink_attr"


def attr(name: str) -> Any:
    """A record field read from the attribute `name`, None when the message has none:
    `oif: int | None = attr("RTA_OIF")` (see `decode_record`)."""
    return field(default=None, metadata={_ATTR: name})


def decode_record(cls: type[R], head: object, attrs: Attrs, **computed: object) -> R:
    """The record `cls` (a dataclass) of one message: a field declared with `attr` takes its
    attribute, a field named in `computed` that value, and every other field the header's
    member of its name (family, dst_len...)."""
    values = dict(computed)
    for f in fields_of(cls):
        if f.name not in values:
            name = f.metadata.get(_ATTR)
            values[f.name] = attrs.get(name) if name else getattr(head, f.name)
    return cls(**values)
