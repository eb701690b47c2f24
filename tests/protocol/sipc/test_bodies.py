"""SIP-C XML body helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

from hypothesis import given
from hypothesis import strategies as st

from columba.protocol.sipc.bodies import element, quote_attr


@given(st.one_of(st.text(), st.integers()))
def test_quote_attr_is_quoteattr(value: str | int) -> None:
    assert quote_attr(value) == quoteattr(str(value))


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"))
)
def test_an_element_reads_back_with_its_attribute(value: str) -> None:
    parsed = ET.fromstring(element("sms", {"to": value, "segments": 2}))
    assert parsed.attrib == {"to": value, "segments": "2"}
