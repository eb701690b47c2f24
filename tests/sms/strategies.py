"""Hypothesis strategies shared by the SMS tests."""

from __future__ import annotations

from hypothesis import strategies as st

from columba.sms.gsm7 import SEPTETS_PER_CHAR

GSM_CHARS = sorted(SEPTETS_PER_CHAR)
EXTENSION_CHARS = [char for char, cost in SEPTETS_PER_CHAR.items() if cost == 2]
EMOJI = ["😀", "👍", "🎉", "𠀀", "\U0001f1e8", "\U0001f1f3"]  # 🇨 🇳: a flag is two

gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700)
# Weighted towards the extension table so that escapes land on part boundaries.
gsm_heavy_escape_text = st.text(
    alphabet=st.one_of(st.sampled_from(EXTENSION_CHARS), st.sampled_from(GSM_CHARS)),
    max_size=500,
)
chinese = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
any_char = st.characters(codec="utf-8")  # every code point but the surrogates
mixed_text = st.text(
    alphabet=st.one_of(st.sampled_from(GSM_CHARS), chinese, st.sampled_from(EMOJI), any_char),
    max_size=600,
)
any_text = st.one_of(gsm_text, gsm_heavy_escape_text, mixed_text)
