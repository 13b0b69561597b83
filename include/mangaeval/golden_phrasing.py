"""How customers word their messages, for golden dataset v2 (`golden_generator --recipe v2`).

v1 asked each question in two or three fixed wordings, so an intent held as few as 24 distinct queries. Here
each question has many wordings per *register*: English, English with the Japanese title (code-switching),
polite Japanese (です/ます), casual Japanese, and Japanese with the English title; then an optional greeting
before and a sign-off or emoji after, the way chat traffic arrives. Every choice is drawn from the generator's
seeded random stream, so a dataset is reproducible byte for byte.

Wordings keep what the answer writer and the scorer read from a query: a product question names its focus
("how much", "在庫", "ISBN", ...; `answers.FOCUS_KEYWORDS`), small talk its act (thanks, goodbye, ...). A
wording whose script would make it read as the other language (`text.detect_language`) falls back to the
register without code-switching, so a case's `language` is always the language the model double answers in.
"""

from __future__ import annotations

import random
import re
from typing import Any

from mangaeval.text import detect_language
from mangaeval.weighted_choice import pick_weighted

# Register shares per language: most English traffic is plain English; Japanese traffic splits between polite
# and casual, with some English titles typed as they appear on covers.
REGISTERS = {"en": (("en", 0.8), ("en_mixed", 0.2)), "ja": (("ja_polite", 0.55), ("ja_casual", 0.3), ("ja_mixed", 0.15))}
# Which script a title slot takes in each register (code-switching is the title in the other script).
TITLE_SCRIPT = {"en": "en", "en_mixed": "ja", "ja_polite": "ja", "ja_casual": "ja", "ja_mixed": "en"}
BASE_REGISTER = {"en": "en", "en_mixed": "en", "ja_polite": "ja_polite", "ja_casual": "ja_casual", "ja_mixed": "ja_polite"}

GENRE_JA = {"action": "アクション", "adventure": "冒険", "art": "アート", "comedy": "コメディ", "dark fantasy": "ダークファンタジー",
            "drama": "ドラマ", "family": "家族もの", "fantasy": "ファンタジー", "historical": "歴史もの", "horror": "ホラー",
            "magical girl": "魔法少女", "martial arts": "格闘", "music": "音楽", "mystery": "ミステリー", "romance": "恋愛",
            "school": "学園", "science fiction": "SF", "slice of life": "日常系", "sports": "スポーツ", "superhero": "ヒーロー",
            "supernatural": "超常", "thriller": "サスペンス"}

# ------------------------------------------------------------------ questions, per intent and key
PRODUCT = {
    "price": {
        "en": ["How much is {title} volume {vol}?", "What's the price of {title} vol. {vol}?", "how much does {title} vol {vol} cost",
               "What does volume {vol} of {title} cost?", "Price check: {title} #{vol}?", "I'm looking at {title} volume {vol}. How much is it?",
               "Could you tell me the price of {title}, volume {vol}?", "How much would {title} volume {vol} cost me?",
               "What's the price on volume {vol} of {title}?"],
        "ja_polite": ["{title}の{vol}巻はいくらですか?", "{title} {vol}巻の値段を教えてください。", "{title}第{vol}巻の価格はおいくらでしょうか?",
                      "{title}の{vol}巻を買いたいのですが、いくらになりますか?", "{title}の{vol}巻のお値段を知りたいです。"],
        "ja_casual": ["{title}の{vol}巻っていくら?", "{title} {vol}巻いくら〜?", "{title}{vol}巻の値段おしえて!", "{title}の{vol}巻、いくらだっけ?"],
    },
    "availability": {
        "en": ["Is {title} volume {vol} in stock?", "Do you have {title} vol {vol} in stock right now?", "is {title} {vol} available?",
               "Is volume {vol} of {title} available to order?", "Got {title} vol {vol} in stock?", "Any copies of {title} volume {vol} available?",
               "Can I get {title} volume {vol}, or is it out of stock?", "Checking stock on {title} vol. {vol}, do you have it?"],
        "ja_polite": ["{title}の{vol}巻は在庫ありますか?", "{title} {vol}巻の在庫はありますか?", "{title}の{vol}巻は今すぐ買えますか?",
                      "{title}第{vol}巻は在庫がございますか?", "{title}の{vol}巻の在庫状況を教えてください。"],
        "ja_casual": ["{title}の{vol}巻ってまだ在庫ある?", "{title} {vol}巻、今買える?", "{title}{vol}巻の在庫どう?", "{title}の{vol}巻ある?在庫見て〜"],
    },
    "isbn": {
        "en": ["What's the ISBN for {title} volume {vol}?", "Can you give me the ISBN of {title} vol. {vol}?", "isbn of {title} {vol} pls",
               "I need the ISBN of {title} volume {vol} for my library order.", "Which ISBN does {title} vol {vol} have?"],
        "ja_polite": ["{title} {vol}巻のISBNを教えてください。", "{title}の{vol}巻のISBNコードを知りたいです。", "{title}第{vol}巻のISBNは何番ですか?"],
        "ja_casual": ["{title}{vol}巻のISBNなに?", "{title} {vol}巻のISBN教えて"],
    },
    "volumes": {
        "en": ["How many volumes are there of {title}?", "How many volumes of {title} are out so far?", "how many books in {title}?",
               "Is {title} finished? How many volumes are there?", "How many volumes does {title} have?", "how many volumes is {title} up to"],
        "ja_polite": ["{title}は全何巻ですか?", "{title}は何巻まで出ていますか?", "{title}の巻数を教えてください。", "{title}は完結していますか?全何巻でしょうか?"],
        "ja_casual": ["{title}って何巻まで出てる?", "{title}の巻数おしえて", "{title}って全何巻?"],
    },
    "author": {
        "en": ["Who wrote {title}?", "Who's the author of {title}?", "Who drew {title}?", "Which mangaka is behind {title}?",
               "who is the author of {title}", "Can you tell me who wrote {title}?"],
        "ja_polite": ["{title}の作者は誰ですか?", "{title}を描いたのはどなたですか?", "{title}の著者を教えてください。"],
        "ja_casual": ["{title}の作者って誰?", "{title}って誰が描いてるの?", "{title}の作者だれだっけ"],
    },
}
RECOMMENDATION = {
    "general": {
        "en": ["Can you recommend something like what I've been reading?", "What should I read next?", "I need a new manga to read, any suggestions?",
               "Got any recs based on what I've been looking at?", "I want to start a new series. What would you suggest?",
               "Can you suggest a manga for me?", "what should i start next, any ideas", "Recommend me something good to read?"],
        "ja_polite": ["次に読む漫画のおすすめはありますか?", "最近見ていた作品に似た漫画を教えてください。", "新しいシリーズを読み始めたいので、おすすめを教えてください。",
                      "私に合いそうな漫画を教えていただけますか?"],
        "ja_casual": ["なんかおすすめの漫画ある?", "最近見てたやつに近いの教えて〜", "次なに読もうかな、おすすめある?"],
    },
    "liked": {
        "en": ["I just finished {liked} and loved it. What should I pick up next?", "Looking for something similar to {liked}, any ideas?",
               "What would you recommend for someone who enjoyed {liked}?", "recommend me something like {liked} pls",
               "My shelf needs a new series. What's good if I liked {liked}?", "Suggest a manga for me? I've been browsing {liked} lately.",
               "Anything in the same spirit as {liked}?"],
        "ja_polite": ["{liked}が好きなのですが、似たような作品はありますか?", "{liked}を読み終えました。次は何を読めばいいでしょうか?",
                      "{liked}が好きな人におすすめの作品はありますか?", "{liked}のような漫画を探しています。"],
        "ja_casual": ["{liked}みたいな漫画ない?", "{liked}読み終わっちゃった…次なに読もう?", "{liked}好きなんだけど、似てるのある?"],
    },
    "genre": {
        "en": ["Any good {genre} manga you'd recommend?", "I'm in the mood for some {genre}. What do you suggest?",
               "Looking for a {genre} series, what do you have?", "What's a good {genre} manga to start with?"],
        "ja_polite": ["{genre}系の漫画でおすすめを教えていただけますか?", "{genre}の作品を読みたいのですが、おすすめはありますか?"],
        "ja_casual": ["{genre}っぽいの読みたい!おすすめ教えて", "{genre}系でおもしろいのある?"],
    },
    "new_reader": {  # the ambiguous edge: no browsing history to go on
        "en": ["Any recommendations? I'm new here.", "First time here, what's popular?", "I've never read manga. Where should I start?",
               "New customer here. What do people like?"],
        "ja_polite": ["初めてです。おすすめはありますか?", "漫画を読むのは初めてなのですが、何から読めばいいですか?", "人気の作品を教えてください。"],
        "ja_casual": ["はじめて来た!おすすめある?", "人気のやつ教えて〜"],
    },
}
FAQ = {
    "shipping-domestic": {
        "en": ["How much is shipping?", "When do I get free shipping?", "How long does standard delivery take?", "What does delivery cost within Japan?",
               "Is there a minimum order for free shipping?", "how much do you charge for shipping to Tokyo", "What are your shipping fees and delivery times?",
               "If I order today, how long until it gets here?", "Do I have to pay for delivery?"],
        "en_mixed": ["How much is 送料 for an order in Japan?"],
        "ja_polite": ["送料はいくらですか?", "送料無料になるのはいくらからですか?", "通常配送だと何日くらいで届きますか?", "国内の配送料金を教えてください。",
                      "送料無料の条件はありますか?"],
        "ja_casual": ["送料っていくら?", "何円から送料無料になる?", "頼んだら何日で届く?", "送料かかる?"],
        "ja_mixed": ["shippingって無料になりますか?", "送料freeの条件を教えてください。"],
    },
    "shipping-express": {
        "en": ["Do you have express delivery?", "Can I get my order tomorrow?", "Is next-day delivery possible?", "How fast can you ship if I'm in a hurry?",
               "What's the cut-off time for express shipping?", "I need this by tomorrow, is there an express option?"],
        "ja_polite": ["お急ぎ便はありますか?", "明日届けてもらうことはできますか?", "翌日配送に対応していますか?", "お急ぎ便の締め切り時間は何時ですか?"],
        "ja_casual": ["明日までに届く?", "速達みたいなのある?", "急ぎで欲しいんだけど早く送れる?"],
        "ja_mixed": ["expressで送ってもらえますか?"],
    },
    "shipping-international": {
        "en": ["Do you ship overseas? How much does it cost?", "Can you send manga to the US?", "Do you ship internationally?",
               "How long does shipping to Europe take?", "I live in Canada, can I order from you?", "What's the international shipping fee?"],
        "ja_polite": ["海外発送はできますか?", "アメリカへの発送は可能ですか?", "海外への送料はいくらですか?", "海外に住んでいますが注文できますか?"],
        "ja_casual": ["海外にも送れる?", "海外発送っていくらかかる?"],
    },
    "returns-window": {
        "en": ["What's your return policy?", "How long do I have to return something?", "Can I return a manga I didn't like?",
               "Is there a time limit on returns?", "How do refunds work if I send something back?", "If I change my mind, can I send it back?"],
        "ja_polite": ["返品はできますか?", "返品の期限はいつまでですか?", "購入後に返品することは可能ですか?", "返金はどのように行われますか?"],
        "ja_casual": ["返品ってできる?", "いつまでなら返品OK?", "気に入らなかったら返せる?"],
    },
    "returns-exclusions": {
        "en": ["Can I return a digital code?", "Are there items you don't take back?", "Can I return a box set I already opened?", "What can't be returned?"],
        "ja_polite": ["デジタルコードは返品できますか?", "開封したボックスセットは返品できますか?", "返品できない商品はありますか?"],
        "ja_casual": ["デジタルコードって返品できる?", "開けちゃったボックスセット返せる?"],
    },
    "preorders": {
        "en": ["When am I charged for a pre-order?", "Do you take my money when I pre-order?", "How does payment work for pre-orders?",
               "Can I cancel a pre-order?", "If I pre-order, when do I pay?"],
        "ja_polite": ["予約商品の支払いはいつですか?", "予約した時点で代金は引き落とされますか?", "予約注文のお支払いのタイミングを教えてください。"],
        "ja_casual": ["予約したらすぐお金かかる?", "予約の支払いっていつ?"],
    },
    "points": {
        "en": ["How do points work?", "How many points do I earn?", "What are your reward points worth?", "Do I get points when I buy manga?",
               "How much is a point worth?"],
        "ja_polite": ["ポイントはどのくらい貯まりますか?", "ポイント還元率はどのくらいですか?", "ポイントの仕組みを教えてください。"],
        "ja_casual": ["ポイントってどれくらいつく?", "ポイント何パーセント還元?"],
    },
}
CHECKOUT = {
    "payment-methods": {
        "en": ["Which payment methods do you accept?", "Can I pay with JCB or PayPay?", "Do you take American Express?", "What cards can I use at checkout?",
               "Is PayPal accepted?", "Can I pay by credit card?"],
        "ja_polite": ["支払い方法は何がありますか?", "JCBカードは使えますか?", "PayPayで支払えますか?", "クレジットカード以外の支払い方法はありますか?"],
        "ja_casual": ["PayPay使える?", "支払いって何が使える?", "アメックスいける?"],
    },
    "payment-konbini": {
        "en": ["How long do I have to pay at the konbini?", "What's the deadline for convenience store payment?",
               "I chose konbini payment, when do I need to pay by?", "What happens if I don't pay at the convenience store in time?"],
        "ja_polite": ["コンビニ払いの期限はいつまでですか?", "コンビニ支払いは何日以内に払えばいいですか?", "コンビニ払いの期限を過ぎたらどうなりますか?"],
        "ja_casual": ["コンビニ払いっていつまで?", "コンビニで払うの忘れたらどうなる?"],
    },
    "payment-cod": {
        "en": ["Can I pay cash on delivery?", "Do you offer COD?", "Is there a fee for cash on delivery?", "Can I pay the driver when it arrives?"],
        "ja_polite": ["代引きは使えますか?", "代金引換の手数料はいくらですか?", "商品受け取り時に現金で払えますか?"],
        "ja_casual": ["代引きできる?", "代引きの手数料いくら?"],
    },
    "gift-wrapping": {
        "en": ["How do I add gift wrapping at checkout?", "Can you gift wrap my order?", "How much is gift wrapping?",
               "Is it possible to include a message card?", "It's a present. Can you wrap it?"],
        "ja_polite": ["注文時にギフト包装を付けられますか?", "ラッピングはできますか?", "ギフト包装の料金はいくらですか?", "メッセージカードは付けられますか?"],
        "ja_casual": ["ラッピングしてもらえる?", "プレゼント用に包んでほしいんだけど"],
    },
    "points": {
        "en": ["Can I use my points at checkout?", "How do I apply my points to this order?"],
        "ja_polite": ["お会計でポイントは使えますか?"],
        "ja_casual": ["ポイント使える?"],
    },
    "shipping-domestic": {
        "en": ["Does my order qualify for free shipping?", "Why am I being charged shipping?"],
        "ja_polite": ["この注文は送料無料になりますか?"],
        "ja_casual": ["これ送料無料になる?"],
    },
}
UNANSWERABLE = {
    "en": ["Do you deliver by drone to Antarctica?", "Can I pay in Bitcoin?", "Do you buy used manga from customers?",
           "Can I pick up my order at a store in Osaka?", "Do you sell manga translated into French?", "Can I reserve a signed copy?",
           "Do you offer layaway?"],
    "ja": ["ドローンで南極に配達できますか?", "ビットコインで支払えますか?", "中古の漫画を買い取ってもらえますか?", "大阪の店舗で受け取りできますか?",
           "フランス語版の漫画は扱っていますか?", "サイン本の予約はできますか?"],
}
ORDER = {
    "track": {
        "en": ["Where is my order {id}?", "Has order {id} shipped yet?", "When will my order {id} arrive?", "Can you check the status of order {id}?",
               "Any update on {id}?", "I ordered a few days ago ({id}). Where is it?", "Tracking for {id} please", "Order {id}: when does it get here?",
               "is {id} on its way?", "What's happening with my order {id}? It's been a while."],
        "en_mixed": ["Order {id} はいつ届く? I need it before the weekend."],
        "ja_polite": ["注文{id}はいつ届きますか?", "注文{id}の配送状況を教えてください。", "注文番号{id}の状況を確認していただけますか?",
                      "{id}の荷物はもう発送されましたか?", "注文{id}がまだ届かないのですが、どうなっていますか?"],
        "ja_casual": ["{id}の注文まだ?", "{id}いつ届く?", "注文{id}ってもう発送された?", "{id}の荷物どこ?"],
        "ja_mixed": ["注文{id}のtracking numberを教えてください。", "{id}のstatusを確認してもらえますか?"],
    },
    "which": {  # the ambiguous edge: no order named
        "en": ["Where's my order?", "When will my stuff arrive?", "Did my order ship?", "my package??"],
        "ja_polite": ["注文はいつ届きますか?", "注文した商品はもう発送されましたか?"],
        "ja_casual": ["頼んだやつまだ?", "荷物いつ来る?"],
    },
}
PROMOTION = {
    "any": {
        "en": ["Are there any discounts on {title}?", "Any coupon codes I can use for {title}?", "Is {title} on sale right now?",
               "Do you have a promo code for {title}?", "I'm about to buy {title}. Any deals?", "Can I get a discount on {title} volumes?",
               "What promotions apply to {title}?", "any coupons for {title}?"],
        "ja_polite": ["{title}に使えるクーポンはありますか?", "{title}のセールはありますか?", "{title}を買うときに使える割引はありますか?",
                      "{title}は今キャンペーン中ですか?"],
        "ja_casual": ["{title}のクーポンある?", "{title}安くならない?", "{title}買いたいんだけどセールやってる?"],
    },
    "first": {
        "en": ["It's my first order. Is there a discount for {title}?", "First time buying here: any coupon for {title}?"],
        "ja_polite": ["初めて注文します。{title}に使えるクーポンはありますか?"],
        "ja_casual": ["初めて買うんだけど、{title}安くなるクーポンある?"],
    },
}
RETURN = {
    "damaged": {
        "en": ["My copy of {title} vol {vol} from order {id} arrived with a torn cover. Can I return it?",
               "{title} volume {vol} (order {id}) came damaged, the pages are bent. What can I do?",
               "Order {id}: {title} vol. {vol} has misprinted pages. I'd like a replacement.",
               "The box was crushed and {title} {vol} is damaged. Order {id}. Can you help?",
               "I received a damaged copy of {title} volume {vol} in order {id}."],
        "ja_polite": ["注文{id}の{title} {vol}巻が破れて届きました。返品できますか?", "注文{id}で届いた{title}の{vol}巻に落丁がありました。交換をお願いできますか?",
                      "{title} {vol}巻(注文{id})の表紙が折れていました。どうすればいいですか?"],
        "ja_casual": ["{id}で頼んだ{title}{vol}巻、表紙やぶれてたんだけど交換できる?", "注文{id}の{title} {vol}巻、ページ折れてた…"],
    },
    "changed_mind": {
        "en": ["I'd like to return {title} vol {vol} from order {id}, I changed my mind.", "Can I send back {title} volume {vol}? Order {id}. I ended up not wanting it.",
               "I bought {title} vol. {vol} by mistake (order {id}). How do I return it?", "Order {id}: I want to return {title} {vol}, it's still sealed.",
               "Is it too late to return {title} volume {vol} from order {id}?"],
        "ja_polite": ["注文{id}の{title} {vol}巻を返品したいです。", "{title}の{vol}巻を間違えて買ってしまいました(注文{id})。返品できますか?",
                      "注文{id}の{title} {vol}巻、未開封ですが返品可能でしょうか?"],
        "ja_casual": ["{id}の{title}{vol}巻、やっぱり返品したい", "注文{id}の{title} {vol}巻返品できる?"],
    },
    "which": {  # the ambiguous edge
        "en": ["I want to return a manga I bought.", "How do I send back something I ordered?", "I need to return a book."],
        "ja_polite": ["買った漫画を返品したいです。", "注文した本を返品したいのですが。"],
        "ja_casual": ["買った漫画返品したい"],
    },
}

# Small talk is built from parts: an interjection, the act, a tail (each act keeps its cue word, so the answer
# writer and the scorer read the same act).
CHITCHAT = {
    "greeting": {"en": (["Hi", "Hello", "Hey", "Good morning", "Good evening", "Hi there", "Hey there", "Hello again", "Morning"],
                        ["!", "", " :)", " 👋", ", anyone there?", ", how's it going?", " MangaAssist", "!!"],
                        ["", "", " I'm looking for some manga.", " Can you help me find a gift?", " Is this the manga store?",
                         " Just browsing for now.", " I have a question.", " First time here."]),
                 "ja": (["こんにちは", "こんにちは〜", "こんばんは", "おはようございます", "やあ", "どうも"],
                        ["", "!", "😊", "〜", "!!"],
                        ["", "", "。漫画を探しています", "。ちょっと質問です", "、はじめまして", "。プレゼントを探しています", "。初めて利用します"])},
    "thanks": {"en": (["", "Great, ", "Perfect, ", "Ok ", "Awesome, ", "Got it, ", "Oh nice, ", "Cool, "],
                      ["thanks", "thank you", "thanks so much", "thanks a lot", "thank you very much", "thx"],
                      ["!", "", " for the help!", ", that helped", ", you're a lifesaver", " 🙏", ", really appreciate it", " :)"]),
               "ja": (["", "了解です、", "わかりました、", "なるほど、", "よかった、", "助かりました、"],
                      ["ありがとうございます", "ありがとう", "ありがと", "本当にありがとうございます", "ご丁寧にありがとうございました"],
                      ["!", "", "🙏", "。助かりました", "〜", "。またお願いします"])},
    "bye": {"en": (["Bye", "Goodbye", "See you", "Good night", "ok bye", "See you later", "Bye bye", "Alright, bye"],
                   ["!", "", ", have a nice day", " 👋", ", until next time", " then", " for now", ", I'll come back later"]),
            "ja": (["またね", "おやすみなさい", "さようなら", "じゃあまたね", "おやすみ", "また来ます、さようなら"],
                   ["", "!", "〜", "👋", "。また来ます"])},
    "out_of_scope": {"en": (["", "Random question, but ", "Off topic: ", "Quick one: ", "btw ", "Unrelated, but "],
                            ["what's the weather tomorrow in Tokyo?", "which lottery numbers should I pick?", "how's the weather this weekend?",
                             "how's the stock market doing today?", "will the weather be nice for a picnic on Sunday?", "any tips for winning the lottery?",
                             "is the stock market going up tomorrow?"]),
                     "ja": (["", "ところで、", "関係ないけど、", "ねえ、", "ちなみに"],
                            ["明日の東京の天気は?", "宝くじの番号は何がいいですか?", "今日の株価どうなってる?", "週末の天気教えて", "宝くじって当たる?",
                             "明日は晴れるかな、天気わかる?"])},
    "open": {"en": (["", "Hi, ", "So ", "Hey, "],
                    ["who are you?", "are you a bot?", "what can you do?", "nice to meet you!", "are you a real person?", "what do you do here?",
                     "is this an AI?", "what's your name?", "how does this chat work?"]),
             "ja": (["", "あの、", "ねえ、"],
                    ["あなたは誰ですか?", "ロボットですか?", "何ができるの?", "よろしくお願いします!", "人間ですか?", "AIですか?", "お名前は?",
                     "このチャットは何ができますか?"])},
}
CHITCHAT_ACTS = (("thanks", 0.34), ("greeting", 0.26), ("bye", 0.2), ("open", 0.1), ("out_of_scope", 0.1))

OPENERS = {"en": ["Hi!", "Hello,", "Hey,", "Quick question:", "Hi there,", "Excuse me,", "Hello again!", "Sorry to bother you,"],
           "ja_polite": ["すみません、", "こんにちは。", "質問です。", "お世話になっております。", "恐れ入りますが、"],
           "ja_casual": ["ねえ、", "ちょっと聞きたいんだけど、", "あのさ、"]}
CLOSERS = {"en": ["Thanks!", "Thank you.", "Thanks in advance!", "Cheers", "🙏", "😊", "Appreciate it."],
           "ja_polite": ["よろしくお願いします。", "お願いします🙏", "よろしくお願いいたします。"],
           "ja_casual": ["よろしく!", "😊", "🙏", "教えて〜"]}

LONG_PREAMBLES = {
    "en": ["I've been collecting manga since I was a kid and my shelves are completely full now, so I'm trying to be careful about what I "
           "pick up next. A friend told me this shop is the best place to ask, and I've already spent an hour browsing on my phone during "
           "my commute, so here goes with my question:",
           "So I'm buying a birthday present for my little brother, who is obsessed with manga, and I have a budget to stick to. I don't "
           "know much about it myself, so bear with me:",
           "Hello! I moved to Japan a few months ago and I'm trying to read more manga to practise, although I still read mostly in English. "
           "My question is this:",
           "Okay, long story short, I used to read manga online but I want to support the artists now and build a proper collection on my "
           "shelf. Before I order anything I'd like to check one thing:",
           "I hope you can help me, I asked on a forum and got three different answers and now I'm more confused than before. Here it is:"],
    "ja": ["子どもの頃から漫画を集めていて、本棚がもういっぱいなので、次に手に取るものは慎重に選びたいと思っています。友達にこのお店で聞くのが一番だと言われて、"
           "通勤中にスマホで一時間ほど眺めていました。そこで質問です。",
           "弟の誕生日プレゼントに漫画を贈りたいのですが、自分はあまり詳しくなくて、予算も決まっているので慎重に選びたいと思っています。そこでお聞きしたいのですが、",
           "最近また漫画にハマって、電子書籍ではなく紙の単行本で揃えたいと思い始めました。注文する前にひとつ確認させてください。",
           "仕事が忙しくてなかなか本屋に行けないので、こちらでまとめて買おうと思っています。ネットで調べても分からなかったので質問です。"],
}
SHORT = {
    "product_question": {"price": {"en": ["{title} {vol} price?", "{title} vol {vol} how much?"], "ja": ["{title} {vol}巻 値段?", "{title} {vol}巻 いくら?"]},
                         "availability": {"en": ["{title} {vol} in stock?", "{title} {vol} available?"], "ja": ["{title} {vol}巻 在庫?", "{title}{vol}巻 在庫ある?"]},
                         "isbn": {"en": ["isbn {title} {vol}?"], "ja": ["{title} {vol}巻 ISBN?"]},
                         "volumes": {"en": ["{title} how many volumes?"], "ja": ["{title} 何巻?", "{title} 全何巻?"]},
                         "author": {"en": ["{title} author?"], "ja": ["{title} 作者?", "{title} 作者だれ?"]}},
    "recommendation": {"en": ["recs?", "suggestions?", "what next?", "something to read?"], "ja": ["おすすめは?", "おすすめ教えて", "次なに読む?"]},
    "order_tracking": {"en": ["{id} status?", "{id}?", "where's {id}", "{id} tracking"], "ja": ["{id} 状況?", "{id} どこ?", "{id} まだ?"]},
    "promotion": {"en": ["{title} coupon?", "{title} discount?", "{title} deals?"], "ja": ["{title} クーポン?", "{title} セール?"]},
    "return_request": {"en": ["return {id}?", "{id} return pls", "{id} refund?"], "ja": ["{id} 返品?", "{id} 返品したい"]},
    "chitchat": {"en": ["hi", "thx!", "bye", "ty", "yo", "hey", "thx", "cya", "k thx", "hiya"], "ja": ["やあ", "ありがと", "またね", "ども", "おつ", "あざす", "ばいばい"]},
}
POLICY_SHORT = {"shipping-domestic": (["shipping cost?", "free shipping?"], ["送料?", "送料無料?"]),
                "shipping-express": (["express?", "next day?"], ["お急ぎ便?", "翌日届く?"]),
                "shipping-international": (["overseas shipping?", "ship abroad?"], ["海外発送?"]),
                "returns-window": (["returns?", "return policy?"], ["返品?", "返品期限?"]),
                "returns-exclusions": (["return digital code?"], ["デジタルコード返品?"]),
                "preorders": (["preorder payment?", "preorder charge?"], ["予約の支払い?"]),
                "points": (["points?", "points rate?"], ["ポイント?", "ポイント還元?"]),
                "payment-methods": (["payment options?", "JCB ok?"], ["支払い方法?", "PayPay使える?"]),
                "payment-konbini": (["konbini deadline?"], ["コンビニ払い期限?"]), "payment-cod": (["COD?", "cash on delivery?"], ["代引き?"]),
                "gift-wrapping": (["gift wrap?"], ["ギフト包装?", "ラッピング?"])}

EMOJI_TAILS = {"en": [" 🙏📚", " 😅", " 📚✨", " 🤔", " 🙏", " 😊📖"], "ja": ["🙏✨", "😭", "📚", "🥺", "✨✨", "😊"]}


def _slots(register: str, slots: dict[str, Any]) -> dict[str, Any]:
    """Slot values for a register: titles in the register's script, genres in Japanese for Japanese registers."""
    script = TITLE_SCRIPT[register]
    out = dict(slots)
    for name in ("title", "liked"):
        if f"{name}_en" in slots:
            out[name] = slots[f"{name}_{script}"] or slots[f"{name}_en"]
    if "genre" in slots and register in ("ja_polite", "ja_casual"):
        out["genre"] = GENRE_JA.get(slots["genre"], slots["genre"])
    return out


def _templates(table: dict[str, list[str]], register: str) -> list[str]:
    return table.get(register) or table[BASE_REGISTER[register]]


_SENTENCE_STARTERS = {"How", "What", "What's", "When", "Where", "Which", "Who", "Who's", "Is", "Are", "Can", "Could", "Do", "Does", "Did", "Has",
                      "Any", "Got", "Price", "Checking", "Looking", "Recommend", "Suggest", "Tracking", "Order", "My", "If", "It's", "Will",
                      "Would", "Why", "Please", "The", "Anything"}


def _decorate(rng: random.Random, text: str, register: str) -> str:
    """An optional greeting before and sign-off after, and sometimes lower case without the final mark (English)."""
    base = BASE_REGISTER[register] if register != "ja_mixed" else "ja_polite"
    family = "en" if base == "en" else base
    if rng.random() < 0.22:
        opener = rng.choice(OPENERS[family])
        first, _, rest = text.partition(" ")
        if family == "en" and opener.endswith((",", ":")) and first in _SENTENCE_STARTERS:  # "Hi there, how much ..."
            text = f"{first.lower()} {rest}"
        text = f"{opener} {text}" if family == "en" else f"{opener}{text}"
    if rng.random() < 0.22:
        closer = rng.choice(CLOSERS[family])
        text = f"{text} {closer}" if family == "en" else f"{text}{closer}"
    if family == "en" and rng.random() < 0.12:
        text = text.lower().rstrip("?!.")
    return text


def phrase(rng: random.Random, table: dict[str, list[str]], language: str, slots: dict[str, Any] | None = None,
           decorate: bool = True) -> str:
    """A customer's wording of the question in `table` (register -> templates), in `language`."""
    slots = slots or {}
    register = pick_weighted(rng, REGISTERS[language])
    template = rng.choice(_templates(table, register))
    text = template.format(**_slots(register, slots))
    if decorate:
        text = _decorate(rng, text, register)
    if detect_language(text) != language:  # code-switching tipped the script balance: say it without the switch
        base = BASE_REGISTER[register]
        text = _templates(table, base)[0].format(**_slots(base, slots))
    return text


def chitchat(rng: random.Random, language: str) -> tuple[str, str]:
    """(message, act) of a small-talk turn."""
    act = pick_weighted(rng, CHITCHAT_ACTS)
    return chitchat_act(rng, act, language), act


def chitchat_act(rng: random.Random, act: str, language: str) -> str:
    """A small-talk message of one act, from its parts (lead-in, the act's words, a tail)."""
    text = "".join(rng.choice(p) for p in CHITCHAT[act][language]).strip()
    return text[0].upper() + text[1:] if language == "en" else text


def short(rng: random.Random, templates: dict[str, list[str]], language: str, slots: dict[str, Any]) -> str:
    return rng.choice(templates[language]).format(**_slots("en" if language == "en" else "ja_polite", slots))


def long_form(rng: random.Random, query: str, language: str) -> str:
    preamble = rng.choice(LONG_PREAMBLES[language])
    return f"{preamble} {query}" if language == "en" else f"{preamble}{query}"


# ------------------------------------------------------------------ typos
_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_WORD_RE = re.compile(r"[A-Za-z]{4,}")
# IME slips seen in Japanese chat: a mistyped kana at the end of a common ending, romaji left unconverted.
JA_SLIPS = (("ください", "くだしあ"), ("ますか", "ますk"), ("ですか", "ですｋ"), ("教えて", "おしえt"))


def with_typos(rng: random.Random, query: str, language: str, protected: list[str]) -> str:
    """A typo'd query: in English one or two words with swapped, dropped or doubled letters (titles, ids and the
    words the answer writer reads are left alone); in Japanese full-width digits, the question mark dropped and
    sometimes an IME slip."""
    if language == "ja":
        text = query.translate(_FULL_WIDTH_DIGITS).replace("?", "").replace("?", "")
        slips = [s for s in JA_SLIPS if s[0] in text and not any(s[0] in p for p in protected)]
        if slips and rng.random() < 0.6:
            right, wrong = rng.choice(slips)
            text = text.replace(right, wrong, 1)
        return text
    lowered = [p.lower() for p in protected if p]
    spans = [(m.start(), m.end()) for p in lowered for m in re.finditer(re.escape(p), query.lower())]
    words = [m for m in _WORD_RE.finditer(query) if not any(s < m.end() and m.start() < e for s, e in spans)]
    if not words:
        return query.lower().rstrip("?!.")
    for m in sorted(rng.sample(words, k=min(len(words), rng.choice((1, 2)))), key=lambda m: -m.start()):
        word = m.group()
        i = rng.randrange(1, len(word) - 2)
        kind = rng.randrange(3)
        if kind == 0:
            typo = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        elif kind == 1:
            typo = word[:i] + word[i + 1:]
        else:
            typo = word[:i] + word[i] + word[i:]
        query = query[: m.start()] + typo + query[m.end():]
    return query
