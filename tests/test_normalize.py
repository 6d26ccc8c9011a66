"""normalize_for_matching and body_fingerprint."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings, strategies as st

from parsers import Block, body_fingerprint, normalize_for_matching

SEED = Path(__file__).resolve().parent / "fixtures" / "seed" / "alwefaq-2024-04-27.txt"


def test_alef_forms_fold_to_bare_alef() -> None:
    assert normalize_for_matching("أإآٱ") == "اااا"


def test_alef_maqsura_teh_marbuta_and_persian_letters() -> None:
    assert normalize_for_matching("علىٰ") == normalize_for_matching("علي")
    assert normalize_for_matching("مدرسة") == normalize_for_matching("مدرسه")
    assert normalize_for_matching("ایران کشور") == normalize_for_matching("ايران كشور")
    assert normalize_for_matching("خانۀ") == normalize_for_matching("خانه")


def test_diacritics_and_tatweel_removed() -> None:
    assert normalize_for_matching("مُحَمَّـــد") == "محمد"


def test_digits_to_ascii() -> None:
    assert normalize_for_matching("٢٠٢٤ ۱۴۰۳") == "2024 1403"


def test_zwnj_and_bidi_marks_removed() -> None:
    assert normalize_for_matching("اصلاح\u200cطلبان\u200f") == "اصلاحطلبان"


def test_punctuation_and_symbols_become_spaces_and_case_folds() -> None:
    assert normalize_for_matching("«Hello»، World!! — ٪5") == "hello world 5"


def test_spelling_variants_of_the_seed_name_match_on_alef_only() -> None:
    # آشتاني / آشتياني differ by a letter: normalisation must not hide real differences
    assert normalize_for_matching("آشتاني") != normalize_for_matching("آشتياني")


def _variant(text: str) -> str:
    """How the second demo outlet copies the seed story."""
    return (text.replace("ي", "ی").replace("ك", "ک").replace("،", ",").replace("ال", "الـ", 3)
            .replace(" ", "  "))


def test_copy_with_persian_letters_tatweel_and_punctuation_has_same_fingerprint() -> None:
    lines = [line for line in SEED.read_text(encoding="utf-8").split("\n") if line.strip("\u00a0 ")]
    body = lines[4:-1]
    copy = [_variant(line) + "\n" for line in body]
    assert body_fingerprint(body) == body_fingerprint(copy)
    assert body_fingerprint([Block("paragraph", t) for t in body]) == body_fingerprint(" ".join(body))


def test_fingerprint_differs_for_different_text() -> None:
    assert body_fingerprint("وزراء الدفاع") != body_fingerprint("وزراء الخارجية")


arabic_text = st.text(
    alphabet=st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآٱىةیکۀپچژگ٠١٢٣۴۵ـًٌٍَُِّْ\u200c\u200f،؛؟.!- \u00a0ABCabc123")),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(arabic_text)
def test_idempotent(text: str) -> None:
    once = normalize_for_matching(text)
    assert normalize_for_matching(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_idempotent_on_any_unicode(text: str) -> None:
    once = normalize_for_matching(text)
    assert normalize_for_matching(once) == once


@settings(max_examples=200, deadline=None)
@given(arabic_text)
def test_persian_and_arabic_letter_variants_are_equal(text: str) -> None:
    persian = text.replace("ي", "ی").replace("ك", "ک").replace("ة", "ۀ")
    assert normalize_for_matching(persian) == normalize_for_matching(text)
