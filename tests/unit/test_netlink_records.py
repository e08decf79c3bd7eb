"""The netlink records declare their attributes as data (`attrs.attr`): every declared name
is in the message's attribute table, with a decoder of the field's type, so a typo or a
wrong decoder cannot leave a field silently None or mistyped (`decode_record` trusts them)."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from netdx.netlink import attrs as a
from netdx.netlink.rtnl import NDA, RTA, Neighbour, Route, _via
from netdx.netlink.rules import FRA, Rule

_INT_DECODERS = {a.u8, a.u16, a.u32, a.s32, a.u64, a.be16}
_STR_DECODERS = {a.ip_address, a.asciiz, a.lladdr, _via}


@pytest.mark.parametrize(("record", "table"), [(Route, RTA), (Neighbour, NDA), (Rule, FRA)])
def test_every_declared_attribute_is_in_the_table_with_a_decoder_of_its_type(
    record: type, table: dict[int, a.AttrSpec]
) -> None:
    """Each `attr(NAME)` field names an attribute of the table whose decoder gives the
    field's type (int or str), and every record declares at least one."""
    specs = {spec.name: spec for spec in table.values()}
    declared = [f for f in dataclasses.fields(record) if "netlink_attr" in f.metadata]
    assert declared
    for field in declared:
        spec = specs[field.metadata["netlink_attr"]]
        expected = _INT_DECODERS if str(field.type).startswith("int") else _STR_DECODERS
        assert spec.decode in expected, (record.__name__, field.name, spec.name)


def test_decode_record_takes_attributes_computed_values_and_header_members() -> None:
    """A declared attribute absent from the message is None, a computed value wins over
    the header, and the other fields are the header's members of the same name."""

    @dataclasses.dataclass(frozen=True)
    class Head:
        family: int
        flags: int
        protocol: int
        scope: int
        dst_len: int
        table: int

    route = a.decode_record(
        Route,
        Head(family=2, flags=7, protocol=4, scope=253, dst_len=24, table=100),
        a.Attrs((a.Attr(4, "RTA_OIF", 3),)),
        type="unicast",
        table=254,
        error=113,
        mtu=None,
    )
    assert (route.family, route.flags, route.protocol, route.scope, route.dst_len) == (
        2, 7, 4, 253, 24,
    )  # fmt: skip
    assert (route.oif, route.gateway, route.type, route.table, route.error) == (
        3, None, "unicast", 254, 113,
    )  # fmt: skip


def test_struct_format_reads_each_members_code_and_padding_from_the_dataclass() -> None:
    """A header declared once with `member` packs to the layout of its codes, padding
    included, unpacks back to the same value, and a field without a code is refused."""

    @dataclasses.dataclass(frozen=True)
    class Head:
        family: int = a.member("B")
        index: int = a.member("i", pad="3x")
        flags: int = a.member("H")

    fmt = a.struct_format("head", Head)
    packed = fmt.pack(Head(family=2, index=7, flags=0x102))
    native = sys.byteorder
    assert packed == bytes([2, 0, 0, 0]) + (7).to_bytes(4, native) + (0x102).to_bytes(2, native)
    assert fmt.unpack(packed) == Head(family=2, index=7, flags=0x102)

    @dataclasses.dataclass(frozen=True)
    class Loose:
        family: int = 0

    with pytest.raises(TypeError, match=r"Loose\.family"):
        a.struct_format("loose", Loose)
