"""Each failure class from the scorer-robustness issue, in English and Japanese, with the dimension that must catch it.

Cases are real golden v1 cases picked by what their grounding holds; answers are written here, by hand.
"""

from __future__ import annotations

import pytest

from mangaeval.golden import load_dataset
from mangaeval.scoring import Scorer
from mangaeval.scoring.normalise import canonical

CASES = load_dataset("v1").cases
SCORER = Scorer()


def pick(intent: str, language: str, test) -> object:
    return next(c for c in CASES if c.intent == intent and c.language == language and test(c))


def policy(pid: str):
    return lambda c: (c.grounding.get("passages") or [{}])[0].get("id") == pid and c.grounding["passages"][0].get("score", 0) >= 0.5


def order_status(status: str):
    return lambda c: (c.grounding.get("order") or {}).get("status") == status and not c.grounding.get("orders") and not any(
        t.startswith("injection") for t in c.tags)


def test_one_normal_form_for_prices_ranges_and_dates():
    assert canonical("¥330") == canonical("330円") == canonical("３３０円") == canonical("330 yen")
    assert canonical("7-14") == canonical("7〜14") == canonical("7～14") == canonical("7 to 14")
    assert canonical("2026年11月24日") == canonical("November 24, 2026") == "2026-11-24"


@pytest.mark.parametrize("language,answer", [
    ("en", "You're very welcome — happy reading!"), ("ja", "お役に立ててうれしいです!素敵な読書時間をお過ごしください。")])
def test_chitchat_thanks_in_other_words_passes(language, answer):
    case = pick("chitchat", language, lambda c: "thank" in c.query.lower() or "ありがと" in c.query)
    assert SCORER.score(case, answer).passed


@pytest.mark.parametrize("language,answer", [("en", "Hello! What are you looking for today?"), ("ja", "こんにちは!何をお探しですか?")])
def test_chitchat_reply_to_another_message_fails_on_relevance(language, answer):
    case = pick("chitchat", language, lambda c: "thank" in c.query.lower() or "ありがと" in c.query)
    result = SCORER.score(case, answer)
    assert result.dimensions["relevance"] < 0.5 and not result.passed


@pytest.mark.parametrize("language,answer", [
    ("en", "Konbini payment:\n1. Pay at the store within 3 days.\n2. If the deadline passes, the order is cancelled automatically."),
    ("ja", "コンビニ払い:\n1. {d}日以内にお支払いください。\n2. 期限を過ぎると自動でキャンセルになります。".format(d=3))])
def test_list_markers_are_not_claims(language, answer):
    case = pick("checkout_help", language, policy("payment-konbini"))
    assert SCORER.score(case, answer).dimensions["factual_accuracy"] == 1.0


@pytest.mark.parametrize("language,example", [
    ("en", "Members get 1% back in points; 1 point is worth ¥1. For example, a ¥1,000 purchase earns 10 points."),
    ("ja", "会員はご購入金額の1%がポイント還元され、1ポイント=¥1です。例えば¥1,000のお買い物で10ポイント貯まります。")])
def test_worked_example_from_a_stated_rule_is_not_a_claim(language, example):
    case = pick("faq", language, policy("points"))
    result = SCORER.score(case, example)
    assert result.dimensions["factual_accuracy"] == 1.0 and result.passed


@pytest.mark.parametrize("language,template", [
    ("en", "Your order {oid} was cancelled, so it hasn't shipped. You have not been charged."),
    ("ja", "ご注文{oid}はキャンセル済みのため、まだ発送されていません。ご請求は発生しておりません。")])
def test_negated_status_is_not_read_as_the_status(language, template):
    case = pick("order_tracking", language, order_status("cancelled"))
    result = SCORER.score(case, template.format(oid=case.grounding["order"]["order_id"]))
    assert result.dimensions["factual_accuracy"] == 1.0 and "forbidden_claim" not in result.critical


@pytest.mark.parametrize("language,template", [
    ("en", "Your order {oid} hasn't shipped yet."), ("ja", "ご注文{oid}はまだ発送されていません。")])
def test_flipped_status_negation_is_caught_by_factual_accuracy(language, template):
    case = pick("order_tracking", language, order_status("shipped"))
    result = SCORER.score(case, template.format(oid=case.grounding["order"]["order_id"]))
    assert "wrong_order_status" in result.critical and not result.passed


@pytest.mark.parametrize("language,answer", [
    ("en", "Cash on delivery works for domestic orders; the fee is 330 yen."), ("ja", "代引きは国内配送で使えます。手数料は３３０円です。")])
def test_completeness_accepts_equivalent_price_forms(language, answer):
    case = pick("checkout_help", language, policy("payment-cod"))
    assert SCORER.score(case, answer).dimensions["completeness"] == 1.0


@pytest.mark.parametrize("language,template", [
    ("en", "Your order {oid} has shipped with {carrier} (tracking number {tn}) and should arrive on {date}."),
    ("ja", "ご注文{oid}は発送済みです。{carrier}でお届け中(追跡番号{tn})、お届け予定日は{date}です。")])
def test_order_date_given_as_delivery_date_is_a_borrowed_figure(language, template):
    case = pick("order_tracking", language, lambda c: order_status("shipped")(c) and c.grounding["order"]["ordered_at"] != c.grounding["order"]["estimated_delivery"])
    o = case.grounding["order"]
    result = SCORER.score(case, template.format(oid=o["order_id"], carrier=o["carrier"], tn=o["tracking_number"], date=o["ordered_at"]))
    assert "borrowed_figure" in result.critical and not result.passed


@pytest.mark.parametrize("language,answer", [
    ("en", "Express shipping is ¥2,000, and orders before 14:00 JST arrive the next business day."),
    ("ja", "お急ぎ便は¥2,000で、14:00までのご注文は翌営業日にお届けします。")])
def test_fee_of_another_shipping_method_is_a_borrowed_figure(language, answer):
    case = pick("faq", language, lambda c: policy("shipping-express")(c) and any(p["id"] == "shipping-international" for p in c.grounding["passages"]))
    result = SCORER.score(case, answer)
    assert "borrowed_figure" in result.critical and not result.passed


@pytest.mark.parametrize("language,answer", [
    ("en", "We accept Visa, Mastercard, American Express, JCB and PayPal, but PayPay is not accepted."),
    ("ja", "Visa、Mastercard、American Express、JCB、PayPalがご利用いただけますが、PayPayはご利用いただけません。")])
def test_payment_method_said_not_accepted_is_a_flipped_polarity(language, answer):
    case = pick("checkout_help", language, policy("payment-methods"))
    result = SCORER.score(case, answer)
    assert "flipped_polarity" in result.critical and not result.passed


@pytest.mark.parametrize("language", ["en", "ja"])
def test_wrong_author_is_caught(language):
    case = pick("product_question", language, lambda c: "focus:author" in c.tags and len(c.grounding.get("products") or []) == 1)
    p = case.grounding["products"][0]
    wrong = "Eiichiro Oda" if language == "en" else "尾田栄一郎"
    if p["author_en"] == "Eiichiro Oda":
        wrong = "Hajime Isayama" if language == "en" else "諫山創"
    title = p[f"title_{language}"]
    answer = f"{title} is written by {wrong}." if language == "en" else f"{title}の作者は{wrong}です。"
    result = SCORER.score(case, answer)
    assert "wrong_attribute" in result.critical and not result.passed


@pytest.mark.parametrize("language,answer", [
    ("en", "Order {oid} is still within our 30-day window, so it can be returned for a refund."),
    ("ja", "ご注文{oid}はまだ返品期間内ですので、返品いただけます。")])
def test_return_permission_claim_is_compared_with_the_policy(language, answer):
    case = pick("return_request", language, lambda c: c.grounding.get("order") and not c.grounding.get("orders")
                and c.grounding.get("return_reason") == "changed_mind" and c.grounding.get("days_since_delivery", 0) > 30)
    result = SCORER.score(case, answer.format(oid=case.grounding["order"]["order_id"]))
    assert "flipped_polarity" in result.critical and not result.passed


@pytest.mark.parametrize("language", ["en", "ja"])
def test_correct_answer_in_another_language_fails_on_language_match(language):
    case = pick("faq", language, policy("shipping-international"))
    other = "ja" if language == "en" else "en"
    result = SCORER.score(case, case.grounding["passages"][0][f"text_{other}"])
    assert "wrong_language" in result.critical and not result.passed
