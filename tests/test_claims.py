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


# ------------------------------------------------------------------ a title's own punctuation, lists under a lead-in,
# policy values that exclude each other, status words in other wording (the second round of the classes)
def _rec_case(language: str, title_en: str):
    return pick("recommendation", language, lambda c: any(x.get("title_en") == title_en for x in c.grounding.get("candidates") or [])
                and len(c.grounding.get("candidates") or []) >= 2)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_title_ending_in_exclamation_marks_keeps_its_facts(language):
    case = _rec_case(language, "Haikyu!!")
    h = next(x for x in case.grounding["candidates"] if x["title_en"] == "Haikyu!!")
    if language == "en":
        answer = f"Try Haikyu!! by {h['author_en']} ({h['volumes_published']} volumes, ¥{h['price_jpy']} each)."
    else:
        answer = f"ハイキュー!!({h['author_ja']}、全{h['volumes_published']}巻、各{h['price_jpy']}円)がおすすめです。"
    assert SCORER.score(case, answer).dimensions["factual_accuracy"] == 1.0


@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_reference_answer_passes_for_titles_with_punctuation(language):
    cases = [c for c in CASES if c.intent == "recommendation" and c.language == language and ("Haikyu!!" in c.reference_answer or "ハイキュー!!" in c.reference_answer)]
    assert cases and all(SCORER.score(c, c.reference_answer).passed for c in cases)


@pytest.mark.parametrize("language,answer,passes", [
    ("en", "Sure! Two things are excluded from returns (unless damaged):\n- digital codes\n- opened shrink-wrapped box sets", True),
    ("ja", "以下は返品できません(破損を除く):\n- デジタルコード\n- 開封済みのシュリンク包装ボックスセット", True),
    ("en", "Good news: these can be returned:\n- digital codes\n- opened shrink-wrapped box sets", False),
    ("ja", "次のものは返品できます:\n- デジタルコード\n- 開封済みのシュリンク包装ボックスセット", False),
])
def test_list_items_take_the_polarity_of_their_lead_in(language, answer, passes):
    case = pick("faq", language, policy("returns-exclusions"))
    result = SCORER.score(case, answer)
    assert ("flipped_polarity" not in result.critical) == passes


@pytest.mark.parametrize("language,right,wrong", [
    ("en", "Pre-orders are charged when they ship, and you can cancel free of charge until then.",
     "Pre-orders are charged when you place the order, and you can cancel free of charge until shipping."),
    ("ja", "予約商品のお支払いは発送時に確定し、発送まで無料でキャンセルできます。",
     "予約商品は予約時にお支払いが確定します。発送まで無料でキャンセルできます。"),
])
def test_preorder_charge_timing_is_a_checked_fact(language, right, wrong):
    case = pick("faq", language, policy("preorders"))
    assert "wrong_attribute" not in SCORER.score(case, right).critical
    result = SCORER.score(case, wrong)
    assert "wrong_attribute" in result.critical and not result.passed


@pytest.mark.parametrize("language,wrong", [
    ("en", "It's within the 30-day window, but refunds are given as store credit only."),
    ("ja", "30日の返品期間内ですが、ご返金はストアポイントでのお渡しとなります。"),
])
def test_refund_destination_is_a_checked_fact(language, wrong):
    case = pick("return_request", language, lambda c: c.grounding.get("return_reason") != "damaged" and c.grounding.get("order")
                and not c.grounding.get("orders") and 0 < (c.grounding.get("days_since_delivery") or 0) <= 30
                and not any(t.startswith("injection") for t in c.tags))
    oid = case.grounding["order"]["order_id"]
    result = SCORER.score(case, f"{'Order' if language == 'en' else 'ご注文'} {oid}: {wrong}")
    assert "wrong_attribute" in result.critical and not result.passed


@pytest.mark.parametrize("language,wrong,fine", [
    ("en", "We'll replace it, but you'll need to pay the return postage yourself.", "You won't need to pay the return postage yourself: we email a prepaid return label."),
    ("ja", "交換いたしますが、返送料はお客様のご負担となります。", "着払いの返品ラベルをお送りしますので、送料のご負担はございません。"),
])
def test_who_pays_to_send_a_damaged_item_back_is_a_checked_fact(language, wrong, fine):
    case = pick("return_request", language, lambda c: c.grounding.get("return_reason") == "damaged" and c.grounding.get("order")
                and not c.grounding.get("orders") and not any(t.startswith("injection") for t in c.tags))
    assert "wrong_attribute" in SCORER.score(case, wrong).critical
    assert "wrong_attribute" not in SCORER.score(case, fine).critical


@pytest.mark.parametrize("language,answer", [("en", "Naruto volume 33: yes, we have it in stock right now."),
                                             ("ja", "ナルト第33巻について:ただいま在庫がございます。")])
def test_completeness_accepts_a_status_word_in_other_wording(language, answer):
    case = pick("product_question", language, lambda c: c.must_contain and any(m in ("in stock", "在庫あり") for m in c.must_contain)
                and len(c.grounding.get("products") or []) == 1)
    title = case.grounding["products"][0]["title_en" if language == "en" else "title_ja"]
    vol = case.grounding["products"][0]["volume"]
    answer = answer.replace("Naruto", title).replace("ナルト", title).replace("33", str(vol))
    result = SCORER.score(case, answer)
    assert result.dimensions["completeness"] == 1.0 or any(m not in ("in stock", "在庫あり", title) for m in case.must_contain)


@pytest.mark.parametrize("language,answer", [("en", "Sorry, it is not in stock at the moment."), ("ja", "申し訳ございません、ただいま在庫がございません。")])
def test_completeness_does_not_read_a_negated_status_as_the_status(language, answer):
    case = pick("product_question", language, lambda c: any(m in ("in stock", "在庫あり") for m in c.must_contain))
    result = SCORER.score(case, answer)
    assert result.dimensions["completeness"] < 1.0


@pytest.mark.parametrize("language,lead", [("en", "Codes can't be combined, but these apply to your order:"),
                                           ("ja", "コードの併用はできませんが、次のコードがご利用いただけます:")])
def test_a_negated_aside_before_a_list_does_not_negate_its_items(language, lead):
    case = pick("promotion", language, lambda c: any(p["code"] in c.must_contain for p in c.grounding.get("promotions") or []))
    codes = [p["code"] for p in case.grounding["promotions"] if p["code"] in case.must_contain]
    result = SCORER.score(case, lead + "\n" + "\n".join(f"- {code}" for code in codes))
    assert "flipped_polarity" not in result.critical


@pytest.mark.parametrize("act,language,answer", [
    ("greeting", "en", "Welcome! How may I assist you today?"), ("greeting", "en", "Good to see you! Looking for something new to read?"),
    ("greeting", "ja", "ようこそ!何かお手伝いできることはありますか?"),
    ("thanks", "en", "No problem at all! Enjoy your reading."), ("thanks", "ja", "いえいえ、お役に立ててよかったです。楽しい読書を!"),
    ("bye", "en", "See ya! Happy reading."), ("bye", "ja", "じゃあね!また来てね。"),
    ("greeting", "en", "Morning! Want some recommendations?"), ("greeting", "ja", "やあ!何か探してる?"),
    ("thanks", "ja", "こちらこそありがとうございます!またいつでもどうぞ。"),
])
def test_chitchat_acknowledgements_in_more_words_pass(act, language, answer):
    from mangaeval.scoring.openchat import message_act

    case = pick("chitchat", language, lambda c: message_act(c.query) == act and not any(t.startswith("injection") for t in c.tags))
    assert SCORER.score(case, answer).passed


@pytest.mark.parametrize("language,answer", [("en", "You're welcome! Goodbye and take care."), ("ja", "どういたしまして!さようなら。")])
def test_thanking_a_greeting_is_still_not_acknowledging_it(language, answer):
    from mangaeval.scoring.openchat import message_act

    case = pick("chitchat", language, lambda c: message_act(c.query) == "greeting")
    assert not SCORER.score(case, answer).passed


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_title_containing_no_is_not_a_negation(language):
    """'Oshi no Ko' names a title; a list introduced by it is not denied."""
    case = pick("promotion", language, lambda c: (c.grounding.get("product") or {}).get("title_en") == "Oshi no Ko"
                and any(p["code"] in c.must_contain for p in c.grounding.get("promotions") or []))
    codes = [p["code"] for p in case.grounding["promotions"] if p["code"] in case.must_contain]
    lead = "Here's what you can use on Oshi no Ko:" if language == "en" else "Oshi no Koに使えるコード:"
    result = SCORER.score(case, lead + "\n" + "\n".join(f"- {code}" for code in codes))
    assert "flipped_polarity" not in result.critical


def test_counters_and_code_dashes_are_not_figures():
    from mangaeval.scoring.claims import without_non_claims

    assert "1" not in without_non_claims("1回のご注文で使えるコードはひとつです。")
    assert canonical("SHONEN10 — 10% off") != canonical("SHONEN10-10% off")  # a dash after a code is not a range
    assert canonical("海外配送は7〜14営業日") == canonical("海外配送は7-14営業日")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_volume_asked_about_given_as_the_number_of_volumes_out_is_caught(language):
    case = pick("product_question", language, lambda c: len(c.grounding.get("products") or []) == 1
                and c.grounding["products"][0]["volume"] != c.grounding["products"][0]["volumes_published"]
                and (f"has {c.grounding['products'][0]['volumes_published']} volumes" in c.reference_answer
                     or f"{c.grounding['products'][0]['volumes_published']}巻まで" in c.reference_answer))
    p = case.grounding["products"][0]
    n, v = p["volumes_published"], p["volume"]
    pat = f"has {n} volumes" if language == "en" else f"{n}巻まで"
    assert SCORER.score(case, case.reference_answer).passed
    result = SCORER.score(case, case.reference_answer.replace(pat, pat.replace(str(n), str(v))))
    assert "borrowed_figure" in result.critical and not result.passed


def test_a_range_of_volumes_is_not_a_volume_count():
    from mangaeval.scoring.claims import attribute_claims

    assert attribute_claims("The first 3 volumes are in stock.") == []
    assert attribute_claims("Naruto has 72 volumes so far; this is volume 33.") == [("volumes_published", 72), ("volume", 33)]
    assert attribute_claims("ナルト第33巻です。全72巻です。") == [("volumes_published", 72), ("volume", 33)]


@pytest.mark.parametrize("answer,passes", [("ご注文{oid}は現在発送準備中です。", True), ("ご注文{oid}は発送の準備をしております。", True),
                                           ("ご注文{oid}は発送いたしました。", False)])
def test_preparing_to_ship_is_not_shipped(answer, passes):
    case = pick("order_tracking", "ja", order_status("processing"))
    result = SCORER.score(case, answer.format(oid=case.grounding["order"]["order_id"]))
    assert ("wrong_order_status" not in result.critical) == passes


# --- Restatements at production's passage length (golden v2: five long help-center chunks per prompt) -------------
def _flips(sentence: str, answer: str) -> list[str]:
    from mangaeval.scoring import claims as cl

    subject = cl._passage_subject.__wrapped__("p", sentence, "")
    units = cl.units(answer)
    return cl.flipped_polarity(units, [subject] * len(units))


@pytest.mark.parametrize("sentence, fine, flipped", [
    ("A pre-ordered volume ships on its own, so the rest of your order is not held back.",
     "Is there anything else about your order I can help with?", "A pre-ordered volume ships on its own, so the rest of your order is held back."),
    ("予約商品は単独で発送するため、ほかの商品のお届けが遅れることはありません。",
     "ほかにお手伝いできることはありますか?", "予約商品は単独で発送するため、ほかの商品のお届けが遅れます。"),
])
def test_a_question_is_not_a_restated_policy(sentence, fine, flipped):
    assert _flips(sentence, fine) == [] and _flips(sentence, flipped)


@pytest.mark.parametrize("sentence, fine, flipped", [
    ("If a digital code does not work, contact support and we will replace it.", "Please contact our support team.",
     "Contact support, but we will not replace a digital code."),
    ("対象になるか分からない場合は、注文番号を添えてお問い合わせいただければ、発送前に確認いたします。", "サポート窓口にお問い合わせください。",
     "お問い合わせいただいても、発送前の確認はいたしません。"),
])
def test_a_negation_inside_a_condition_does_not_negate_the_sentence(sentence, fine, flipped):
    from mangaeval.scoring.claims import negated

    assert not negated(sentence) and negated("Digital codes cannot be returned unless damaged.")
    assert _flips(sentence, fine) == [] and _flips(sentence, flipped)


def test_the_assistant_speaking_of_itself_restates_no_policy():
    sentence = "To start a return, open the order on your account page and choose the items."
    assert _flips(sentence, "I couldn't find that order, so I can't start a return.") == []
    assert _flips(sentence, "I'm sorry, I can't start a return for that order.") == []
    assert _flips(sentence, "You can't start a return from the order on your account page.")
    assert _flips("Damaged items are replaced or refunded free of charge.",
                  "I'm sorry your order arrived damaged, but damaged items can't be replaced or refunded free of charge.")


def test_a_unit_sharing_no_content_word_restates_nothing():
    sentence = ("We send the replacement as soon as the label is used, so you don't have to wait for the damaged copy to reach us.")
    assert _flips(sentence, "Happy to help further.") == []
    assert _flips(sentence, "We send the replacement once the damaged copy reaches us, so you have to wait for it.")
