"""Record, the project's immutable value class: what a NamedTuple gave, checked field by field."""

from __future__ import annotations

import copy
import pickle
from typing import ClassVar

import pytest

from imagegen.record import Record


class Price(Record):
    model: str
    usd: float = 0.0
    tags: tuple[str, ...] = ()


class Quoted(Price):
    note: str = ""
    unit: ClassVar[str] = "USD"


class Coded(Price):
    code: str  # required, after the parent's defaults


def test_fields_in_order_with_defaults():
    assert Price._fields == ("model", "usd", "tags")
    assert Price._field_defaults == {"usd": 0.0, "tags": ()}
    assert Price("m")._asdict() == {"model": "m", "usd": 0.0, "tags": ()}
    assert Price("m", 2.5, ("a",)) == Price(model="m", tags=("a",), usd=2.5)
    assert list(Price(tags=("a",), model="m")._asdict()) == ["model", "usd", "tags"]  # keywords in any order
    assert repr(Price("m", 1.0)) == "Price(model='m', usd=1.0, tags=())"


def test_a_subclass_adds_its_fields_after_its_parents_and_skips_class_variables():
    assert Quoted._fields == ("model", "usd", "tags", "note")
    assert Quoted._field_defaults == {"usd": 0.0, "tags": (), "note": ""}
    quoted = Quoted("m", note="n")
    assert (quoted.usd, quoted.note, quoted.unit) == (0.0, "n", "USD")
    assert quoted != Price("m")  # another type is another value
    assert Coded("m", code="c")._asdict() == {"model": "m", "usd": 0.0, "tags": (), "code": "c"}


@pytest.mark.parametrize("make, message", [
    (lambda: Price(), "missing field(s) 'model'"),
    (lambda: Price("m", 1.0, (), "extra"), "takes 3 fields but 4 were given"),
    (lambda: Price("m", model="n"), "multiple values for field 'model'"),
    (lambda: Price("m", colour="red"), "unexpected field(s) 'colour'"),
    (lambda: Coded("m", usd=1.0), "missing field(s) 'code'"),
])
def test_a_wrong_construction_is_a_type_error(make, message):
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_immutable_and_changed_by_copy():
    price = Price("m")
    with pytest.raises(AttributeError, match="immutable"):
        price.usd = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del price.model  # type: ignore[misc]
    changed = price._replace(usd=3.0)
    assert (price.usd, changed.usd, changed.model) == (0.0, 3.0, "m")
    with pytest.raises(TypeError, match="unexpected"):
        price._replace(colour="red")


def test_equal_values_hash_alike_and_survive_copies_and_pickles():
    assert hash(Price("m", 1.0)) == hash(Price("m", 1.0))
    assert len({Price("m"), Price("m"), Price("n")}) == 2
    for copied in (copy.copy(Price("m")), copy.deepcopy(Price("m")), pickle.loads(pickle.dumps(Price("m")))):
        assert copied == Price("m")
    assert Price("m") != ("m", 0.0, ())  # not a tuple
