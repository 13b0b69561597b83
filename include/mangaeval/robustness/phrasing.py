"""Hand-written phrasings for the robustness set, in the styles real models answer in.

Deliberately independent of mangaeval.answers (the writer the golden references and the model double share)
and of the scorer: different wording, markdown, keigo and casual Japanese, prices written ¥330 / 330円 / 330 yen
/ full-width, ranges as 7-14 / 7〜14 / 7 to 14, dates written out. Each policy carries, besides its correct
wordings, one sentence that flips its polarity and one that states a wrong non-numeric fact, as a customer
would be misled by them. Slots: {p0} price, {r1} range, {n0} number, {t1} time, {pc0} percent (index = position
of the figure in the policy's `figures`-independent slot order below).
"""

from __future__ import annotations

# policy id -> {"slots": kinds in order, "en": [...], "ja": [...], "flip": (en, ja), "wrong": (en, ja)}
POLICIES: dict[str, dict] = {
    "shipping-domestic": {
        "slots": ["price", "range", "price"],
        "en": ["Standard shipping within Japan is {0}, and it usually arrives in {1} business days. Spend {2} or more and shipping is free.",
               "### Domestic shipping\n- Standard rate: {0}\n- Delivery time: {1} business days\n- Free shipping on orders of {2} or more"],
        "ja": ["国内の通常配送は送料{0}でございます。お届けまでは{1}営業日ほどで、{2}以上のご購入で送料無料となります。",
               "国内送料は{0}だよ。{1}営業日くらいで届いて、{2}以上なら送料無料!"],
        "flip": ("Shipping is not free, no matter how much you order.", "ご注文金額にかかわらず送料無料にはなりません。"),
        "wrong": ("Free shipping is only available to members.", "送料無料は会員様のみが対象です。"),
    },
    "shipping-express": {
        "slots": ["price", "time"],
        "en": ["Express shipping is {0}. If you order before {1} JST, it arrives the next business day.",
               "**Express shipping**\n1. Cost: {0}\n2. Order before {1} (Japan time) for next-business-day delivery"],
        "ja": ["お急ぎ便の送料は{0}でございます。{1}(日本時間)までにご注文いただければ、翌営業日にお届けいたします。",
               "お急ぎ便は{0}。{1}までに注文すれば次の営業日に届くよ。"],
        "flip": ("Orders placed before {1} JST are not delivered the next business day.", "{1}までのご注文でも翌営業日にはお届けできません。"),
        "wrong": ("Express orders are delivered the same day.", "お急ぎ便は当日中にお届けします。"),
    },
    "shipping-international": {
        "slots": ["price", "range"],
        "en": ["Yes, we ship internationally for a flat {0} per order; delivery takes {1} business days.",
               "- International shipping: {0} flat per order\n- Delivery: {1} business days"],
        "ja": ["はい、海外発送も承っております。送料は1注文あたり一律{0}で、お届けまで{1}営業日ほどかかります。",
               "海外にも送れるよ!送料は1注文{0}で、{1}営業日くらいかかるよ。"],
        "flip": ("Sorry, we don't ship outside Japan.", "申し訳ございませんが、海外発送は行っておりません。"),
        "wrong": ("International shipping is charged per item rather than per order.", "海外配送料は1注文ではなく商品1点ごとにかかります。"),
    },
    "returns-window": {
        "slots": ["number", "range"],
        "en": ["You can return unopened items within {0} days of delivery. The refund goes back to your original payment method in {1} business days.",
               "Here's how returns work:\n1. Unopened items can be returned up to {0} days after delivery.\n2. Refunds reach your original payment method within {1} business days."],
        "ja": ["未開封の商品でしたら、お届けから{0}日以内に返品いただけます。返金は{1}営業日以内に元のお支払い方法へ戻ります。",
               "未開封なら届いてから{0}日以内に返品できるよ。返金は{1}営業日以内に元の支払い方法に戻るよ。"],
        "flip": ("Unopened items cannot be returned.", "未開封の商品は返品できません。"),
        "wrong": ("Refunds are issued as store credit instead of to your payment method.", "返金は元のお支払い方法ではなくストアポイントで行われます。"),
    },
    "returns-damaged": {
        "slots": ["number"],
        "en": ["If an item arrives damaged or misprinted, we'll replace or refund it free of charge and email you a prepaid return label within {0} hours.",
               "- Damaged or misprinted items: free replacement or refund\n- A prepaid return label is emailed within {0} hours"],
        "ja": ["破損や落丁がございましたら、無料で交換または返金いたします。{0}時間以内に着払いの返品ラベルをメールでお送りいたします。",
               "破れてたり落丁があったら無料で交換か返金するよ。{0}時間以内に返品ラベルをメールで送るね。"],
        "flip": ("Damaged items are not replaced or refunded free of charge.", "破損品の無料交換・返金は行っておりません。"),
        "wrong": ("You'll need to pay the return postage for damaged items.", "破損品の返送料はお客様のご負担となります。"),
    },
    "returns-exclusions": {
        "slots": [],
        "en": ["Digital codes and opened shrink-wrapped box sets can't be returned unless they arrived damaged.",
               "Two things are excluded from returns (unless damaged):\n- digital codes\n- opened shrink-wrapped box sets"],
        "ja": ["デジタルコードと、開封済みのシュリンク包装ボックスセットは、破損している場合を除き返品をお受けできません。",
               "デジタルコードと開けちゃったシュリンク包装のボックスセットは、破損してない限り返品できないよ。"],
        "flip": ("Digital codes and opened box sets can be returned at any time.", "デジタルコードや開封済みボックスセットもいつでも返品できます。"),
        "wrong": ("Opened box sets can be exchanged for store points instead.", "開封済みボックスセットはストアポイントと交換できます。"),
    },
    "gift-wrapping": {
        "slots": ["price"],
        "en": ["Gift wrapping is {0} per order, and a message card comes free with it.",
               "**Gift wrapping**\n- Price: {0} per order\n- Message card: included at no charge"],
        "ja": ["ギフトラッピングは1注文につき{0}で承っております。メッセージカードは無料でお付けいたします。",
               "ラッピングは1注文{0}だよ。メッセージカードは無料で付けられるよ。"],
        "flip": ("A message card can't be added to gift-wrapped orders.", "ラッピングにメッセージカードはお付けできません。"),
        "wrong": ("Gift wrapping is charged per item, not per order.", "ラッピング料金は1注文ではなく商品1点ごとにかかります。"),
    },
    "payment-methods": {
        "slots": [],
        "en": ["You can pay with Visa, Mastercard, American Express, JCB, PayPal, PayPay or at a konbini (convenience store).",
               "We accept:\n- Credit cards: Visa, Mastercard, American Express, JCB\n- PayPal\n- PayPay\n- Konbini payment"],
        "ja": ["お支払いには、Visa・Mastercard・American Express・JCB・PayPal・PayPay・コンビニ払いをご利用いただけます。",
               "支払いはVisa、Mastercard、American Express、JCB、PayPal、PayPay、コンビニ払いが使えるよ。"],
        "flip": ("We accept Visa, Mastercard, American Express, JCB and PayPal, but PayPay is not accepted.",
                 "Visa、Mastercard、American Express、JCB、PayPalがご利用いただけますが、PayPayはご利用いただけません。"),
        "wrong": ("We accept Visa, Mastercard, American Express, JCB, PayPal and PayPay, and Apple Pay works too.",
                  "Visa、Mastercard、American Express、JCB、PayPal、PayPayのほか、Apple Payもご利用いただけます。"),
    },
    "payment-konbini": {
        "slots": ["number"],
        "en": ["Please complete your konbini payment within {0} days; otherwise the order is cancelled automatically.",
               "Konbini payment:\n1. Pay at the store within {0} days.\n2. If the deadline passes, the order is cancelled automatically."],
        "ja": ["コンビニ払いは{0}日以内にお支払いをお願いいたします。期限を過ぎますとご注文は自動的にキャンセルとなります。",
               "コンビニ払いは{0}日以内に払ってね。過ぎると自動でキャンセルになっちゃうよ。"],
        "flip": ("If you miss the deadline, the order is not cancelled.", "期限を過ぎてもご注文はキャンセルされません。"),
        "wrong": ("Konbini payment carries an extra handling fee.", "コンビニ払いには別途手数料がかかります。"),
    },
    "payment-cod": {
        "slots": ["price"],
        "en": ["Cash on delivery is available for domestic orders, with a {0} fee.",
               "Yes! Cash on delivery works for orders shipped within Japan. The fee is {0}."],
        "ja": ["代金引換は国内配送のご注文でご利用いただけます。手数料は{0}でございます。",
               "代引きは国内配送なら使えるよ。手数料は{0}だよ。"],
        "flip": ("Cash on delivery is not available.", "代金引換はご利用いただけません。"),
        "wrong": ("Cash on delivery is also available for international orders.", "代金引換は海外配送でもご利用いただけます。"),
    },
    "preorders": {
        "slots": [],
        "en": ["You're only charged for a pre-order when it ships, and you can cancel it free of charge until then.",
               "About pre-orders:\n- Payment is taken when the item ships.\n- You can cancel for free any time before it ships."],
        "ja": ["ご予約商品は発送時にお支払いが確定いたします。発送までは無料でキャンセルいただけます。",
               "予約は発送するときに支払いが確定するよ。発送までならタダでキャンセルできるよ。"],
        "flip": ("Pre-orders can't be cancelled once they're placed.", "予約商品はご注文後のキャンセルができません。"),
        "wrong": ("Pre-orders are charged at the time you place the order.", "予約商品はご注文時に代金が請求されます。"),
    },
    "points": {
        "slots": ["percent"],
        "en": ["As a member you get {0} of the purchase price back in points, and each point is worth ¥1. For example, a ¥1,000 purchase earns 10 points.",
               "**Points**\n- Earn rate: {0} of what you spend\n- Value: 1 point = 1 yen"],
        "ja": ["会員様にはご購入金額の{0}をポイントで還元しております。1ポイントは1円としてお使いいただけます。例えば¥1,000のお買い物で10ポイント貯まります。",
               "会員なら買った金額の{0}がポイントで戻ってくるよ。1ポイント=1円で使えるよ。"],
        "flip": ("Points can't be used toward purchases.", "ポイントはお支払いにはお使いいただけません。"),
        "wrong": ("Points are only given on your first order.", "ポイントは初回のご注文のみが対象です。"),
    },
}

NOT_COVERED = {
    "en": ["I'm not sure our store policies cover that, so I'd rather not guess. Our support team can give you a definite answer.",
           "I don't have reliable information on that. Please reach out to our support team and they'll sort it out."],
    "ja": ["申し訳ございません、その件は当店の規約で確認できませんでした。確実なご案内のため、サポート窓口へお問い合わせください。",
           "ごめんね、それは規約に載ってなくて確かなことが言えないんだ。サポート窓口に聞いてみてね。"],
}
EXTRA = {  # one extra, helpful sentence that states no new fact
    "en": ["If anything else comes up, just ask — I'm happy to help.", "Feel free to ask if you'd like more detail on any of this."],
    "ja": ["他にもご不明な点がございましたら、お気軽にお尋ねください。", "ほかに気になることがあったら何でも聞いてね。"],
}

CHITCHAT = {
    "greeting": {
        "en": ["Hi there! Welcome to the store — what kind of manga are you in the mood for today?",
               "Hey! Good to see you. Looking for something new to read, or can I help with an order?",
               "Hello and welcome! I can help you find manga, check an order or answer store questions."],
        "ja": ["いらっしゃいませ!本日はどのような漫画をお探しでしょうか?", "こんにちは!何かお探しの作品はありますか?お気軽にどうぞ。",
               "やあ、こんにちは!今日はどんなマンガを探してる?"],
    },
    "thanks": {
        "en": ["My pleasure! Enjoy your reading, and come back anytime.", "Glad I could help! Let me know if you need anything else.",
               "You're very welcome — happy reading!"],
        "ja": ["お役に立ててうれしいです!素敵な読書時間をお過ごしください。", "とんでもないです!また何かあればいつでもどうぞ。",
               "どういたしまして〜!楽しんで読んでね!"],
    },
    "bye": {
        "en": ["Take care, and enjoy your manga! See you next time.", "Bye for now — come back whenever you need a new read!",
               "Good night, and happy reading!"],
        "ja": ["ご利用ありがとうございました。またのお越しをお待ちしております!", "またね!次の一冊を探すときはいつでも来てね。",
               "おやすみなさい、良い読書を!"],
    },
    "out_of_scope": {
        "en": ["Sorry, that's outside what I can help with — I can only answer questions about manga, your orders and our store.",
               "I'm afraid I can't help with that one. I'm here for manga, orders and store questions, though!"],
        "ja": ["申し訳ございません、そのご質問にはお答えできかねます。漫画やご注文、当店についてのご質問でしたらお手伝いいたします。",
               "ごめんね、それには答えられないんだ。マンガや注文、お店のことなら聞いてね!"],
    },
}
# A wrong reply to each kind of message: one that answers a different message, and one that invents a fact.
CHITCHAT_WRONG_ACT = {
    "greeting": {"en": "You're welcome! Goodbye and take care.", "ja": "どういたしまして!さようなら。"},
    "thanks": {"en": "Hello! What are you looking for today?", "ja": "こんにちは!何をお探しですか?"},
    "bye": {"en": "Hi! What manga can I find for you?", "ja": "こんにちは!何かお探しですか?"},
    "out_of_scope": {"en": "Sure! It will be sunny and 22 degrees tomorrow.", "ja": "はい、明日は晴れで気温は22度の予報です。"},
}
CHITCHAT_INVENTED = {
    "en": "Hi! Good news: everything in the store is 20% off today, so it's a great time to stock up!",
    "ja": "こんにちは!本日は全品20%オフのセール中です。ぜひこの機会にどうぞ!",
}
