"""Rule-based classification of customer-service messages.

Six yes/no rules, each a vectorised function from a Series of texts to a bool Series on the
same index (NA counts as ""):

- ``link``: the text contains a web address written with ``http://``, ``https://`` or
  ``www.`` (Twitter's ``https://t.co/…`` short links count).
- ``dm``: the text asks the customer to continue in private messages, or points them to a
  private message already sent or received: DM, PM, direct/private message, inbox, "send us
  a message", "message us", "privately", Twitter DM deep links. A writer's own past action
  ("I sent you a DM", "I DMed you yesterday"), "my DMs/inbox" and "no need to DM" do not
  count, nor does an e-mail inbox: when the text talks about e-mail anywhere (e-mail, mail,
  Gmail, spam, junk, newsletter, an address, or a reset, verification, confirmation,
  activation or sign-in link or code, which are sent by e-mail), "inbox" ("check your
  inbox", "in your inbox") does not count, so "Check your inbox for the reset link" is not
  ``dm`` while "We've sent you a link, check your inbox" is (a bare link may come by DM).
  The verb ("inbox us your order number", "we've inboxed you") and "send us an inbox" still
  count there, as does any other DM wording ("check your inbox ... or DM us").
- ``phone``: the text contains a telephone number: international (``+44 20 7946 0018``),
  North American (``1-800-275-2273``, ``(800) 555-0199``, ``800.555.0199``, toll-free
  ``18002752273``, vanity ``1-800-MY-APPLE``), national numbers with a leading 0 (UK
  ``0800 123 4567``, ``020 7946 0018``, ``01632 960123``) or ``1800``/``1300`` numbers
  (Ireland, Australia, India). Order, reference, ticket, tracking and booking numbers that
  follow such a keyword, dates, times, prices, flight numbers and years do not count.
- ``email``: the text contains an e-mail address (``help@brand.com``), or the
  ``__email__`` token the Customer Support on Twitter data set puts in place of one;
  ``@handles`` do not count.
- ``ack_only``: once @mentions, a trailing agent signature (``^JK``, ``-Sam``, ``*AB``) and
  vocative names ("Thanks, Sarah!") are removed, the text consists only of acknowledgement,
  apology, thanks, empathy, greeting and courtesy sentences ("We're sorry to hear that.",
  "Thanks for reaching out!", "Let us know if you need anything else."), with no question,
  link, channel switch, instruction, action or answer. Empty text is not ack-only.
- ``confirms_resolution``: (meant for customer messages) the text says the problem is
  solved: fixed, sorted, resolved, solved, works/working now or again, that worked, did the
  trick, all good, up and running, problem gone. Negated, hoped-for, requested or asked
  forms ("still not fixed", "need this fixed", "is it fixed?"), "it was working" and
  regressions ("now it's not", "broken again", "thanks for nothing") do not count.

Every pattern is written for RE2, the engine pyarrow uses behind pandas' string methods: no
lookaround or backreferences, and none of ``\\b``, ``\\w``, ``\\d``, ``\\s``, ``$`` or ``\\Z``,
for which pandas falls back to Python's much slower ``re`` (non-ASCII text, newlines) or which
RE2 spells differently. Word boundaries are explicit character classes on texts padded with
a space at each end; "X but not Y" deletes the excluded phrases with ``str.replace`` (only
on the rows that matched X) before matching again, and "X but not Y when Z is said anywhere"
(``dm``'s e-mail inboxes) deletes Y only on the rows where Z matches.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialbench.measure.arrays import arrow, bools, scalar

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RULES",
    "ack_only",
    "classify_text",
    "confirms_resolution",
    "dm",
    "email",
    "link",
    "phone",
]

RULES: dict[str, str] = {
    "link": (
        "A message has a link when it contains a web address starting with http://, "
        "https:// or www. (Twitter's https://t.co short links included)."
    ),
    "dm": (
        "A message moves the conversation to private messages when it asks the customer to "
        "DM, PM, direct or private message, inbox or 'send us a message', or points to a "
        "private message sent or received, not counting a writer's own past 'I sent you a "
        "DM', 'my DMs' or an e-mail inbox ('inbox' in a text about e-mail, spam or a reset "
        "or verification link, which come by e-mail; 'inbox us' still counts)."
    ),
    "phone": (
        "A message gives a phone number when it contains an international (+44 20 7946 "
        "0018), North American (1-800-275-2273, (800) 555-0199, 1-800-MY-APPLE) or "
        "leading-zero national (0800 123 4567) number, not counting order, reference, "
        "ticket or tracking numbers, dates, times, prices or flight numbers."
    ),
    "email": (
        "A message gives an e-mail address when it contains name@domain.tld (or the data "
        "set's __email__ placeholder); @handles are not addresses."
    ),
    "ack_only": (
        "A message only acknowledges when, without its @mentions and agent signature, it "
        "consists solely of apology, thanks, empathy, greeting or courtesy sentences (a "
        "generic 'let us know if you need anything else' included), with no question, link, "
        "DM request, phone number, e-mail, instruction, action or answer."
    ),
    "confirms_resolution": (
        "A customer message confirms resolution when it says the problem is fixed, sorted, "
        "resolved, solved, working now or again, all good or up and running, not counting "
        "negated, hoped-for, requested or asked forms, or regressions."
    ),
}

# --------------------------------------------------------------------------- building blocks

_STRING = "string[pyarrow]"
_WS_CLASS = "[ \t\r\n\u00a0]"  # RE2's \s differs from Python's, so pandas would not use RE2
_NW = "[^A-Za-z0-9_]"  # one non-word character; texts are padded so one always exists
_AP = "['\u2019]"  # straight or curly apostrophe
# Texts end with this character (see _prepare); patterns anchor on it instead of \Z, which
# RE2 spells \z and older pandas do not translate, or $, which makes pandas 3 hand every
# pattern to Python's re as soon as one text contains a newline.
_END = "\x1f"


def _rx(template: str) -> str:
    """Case-insensitive RE2 pattern from a readable template.

    Outside character classes a space means "one or more whitespace" and ' means a straight
    or curly apostrophe; inside a class ' also admits the curly one.
    """
    out: list[str] = ["(?i)"]
    in_class = escaped = False
    for ch in template:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
            if ch == "'":
                ch = "'\u2019"
        elif ch == "[":
            in_class = True
        elif ch == " ":
            ch = _WS_CLASS + "+"
        elif ch == "'":
            ch = _AP
        out.append(ch)
    return "".join(out)


def _words(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


# ------------------------------------------------------------------------------------- link

_LINK = _rx(r"https?://[^ \t\r\n]|[^A-Za-z0-9_.@/-]www\.[A-Za-z0-9-]")

# ------------------------------------------------------------------------------------ email

_EMAIL = _rx(r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}|__email__")

# ------------------------------------------------------------------------------------ phone

_PHONE_LEFT = "[^A-Za-z0-9_@#/=.,$\u00a3\u20ac+-]"  # not glued to a word, id, URL or price
_PHONE_RIGHT = "[^A-Za-z0-9_]"
_TOLL_FREE = "8(?:00|33|44|55|66|77|88)"
_PHONE = "(?i)" + "|".join(
    [
        # +44 20 7946 0018, +1 (877) 555-0199, (+234) 70 94250 556: 8-15 digits after "+"
        r"[^A-Za-z0-9_+]\(?\+[1-9](?:[ .-]?\(?[0-9]\)?){7,14}" + _PHONE_RIGHT,
        # North America: 1-800-275-2273, (800) 555-0199, 800.555.0199
        _PHONE_LEFT
        + r"(?:1[ .-]?)?(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}"
        + _PHONE_RIGHT,
        # toll-free without separators: 18002752273, 8002752273
        _PHONE_LEFT + "1?" + _TOLL_FREE + "[0-9]{7}" + _PHONE_RIGHT,
        # vanity, upper case only: 1-800-MY-APPLE, 1-800-FLOWERS
        "(?-i:"
        + _PHONE_LEFT
        + "1[ .-]?"
        + _TOLL_FREE
        + "[ .-](?:[A-Z0-9]+-)*[A-Z]{3,}[A-Z0-9]*[^A-Za-z0-9_])",
        # leading-zero national numbers of 10-11 digits (UK, Japan 0120, Nigeria, India ...)
        _PHONE_LEFT
        + "0[1-9](?:[0-9][ -]?[0-9]{4}[ -]?[0-9]{4}"  # 020 7946 0018
        + "|[0-9]{2}[ -]?[0-9]{3}[ -]?[0-9]{3,4}"  # 0800 123 4567, 0800 692 692
        + "|[0-9]{2}[ -]?[0-9]{6,7}"  # 0800 1234567
        + "|[0-9]{3}[ -]?[0-9]{5,6}"  # 01632 960123, 07700 900123
        + "|[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3})"  # 03457 404 404
        + _PHONE_RIGHT,
        # 1800 / 1300 numbers: Ireland, Australia, India
        _PHONE_LEFT + "1[38]00[ -]?[0-9]{3}[ -]?[0-9]{3,4}" + _PHONE_RIGHT,
    ]
)

# "order #112-…", "ref 0123 456 7890", "tracking number: 1Z…": the number after the keyword
# fmt: off
_ID_KEYWORDS = _words(
    "order", "ref", "reference", "case", "ticket", "tracking", "track", "booking",
    "confirmation", "conf", "account", "acct", "a/c", "claim", "incident", "invoice",
    "receipt", "serial", "membership", "member", "policy", "parcel", "consignment", "item",
    "transaction", "txn", "pnr", "imei", "flight", "record", "locator", "reservation",
    "loyalty", "voucher", "coupon", "promo", "pin", "sku", "model", "isbn", "asin", "upc",
    "barcode", "awb", "waybill", "shipment", "package", "card", "complaint", "cas", "crm",
    "sr", "dpci", "tcin", "rewards?",
)
# fmt: on
_PHONE_ID = _rx(
    _NW
    + _ID_KEYWORDS
    + r"s?(?:[ \t]*(?:number|num|no|nr|id|ref|code|#))?[ \t.:#-]*(?:(?:is|was|of)[ \t]+)?"
    + r"[ \t:#]*[A-Za-z0-9]*[0-9][A-Za-z0-9-]*(?:[ \t]+[0-9][0-9-]*)*"
)

# --------------------------------------------------------------------------------------- dm

_DM = _rx(
    _NW
    + _words(
        "dm(?:s|z|ed|d|ing)?",
        "direct[ -]?(?:message|messag|msg|mail)[a-z]*",
        "private[ -]?(?:message|messag|msg|mail|chat|conversation)[a-z]*",
        "privately",
        "in private",
        "inbox(?:ed|ing)?",
        "pm(?:'?e?d|ing)",
        "pm (?:us|me|our|them|him|her|your)",
        "(?:a|via|by|through|over|in|send|sent|your|our|check|another) pms?",
        "(?:message|messaging|msg) (?:us|me)",
        "(?:send|sent|shoot|drop|pop|flick|fire|give) (?:(?:us|me) )?an? (?:(?:quick|short|"
        "private|direct) )?(?:message|msg)",
        "check (?:your )?messages",
        r"(?:twitter|x)\.com/(?:messages|direct_messages)",
        r"m\.me/",
        # Spanish, Portuguese and French brand replies use the same convention
        "mensajes? (?:directos?|privados?)",
        "mensage(?:m|ns) (?:diretas?|privadas?)",
        "messages? (?:priv[e\u00e9]s?|directs?)",
    )
    + _NW
)
# fmt: off
_FIRST_PERSON_PAST = _words(
    "sent", "dmed", "dm'd", "dmd", "dm'ed", "pmed", "pm'd", "messaged", "inboxed", "replied",
    "responded", "written", "wrote", "did send", "did dm", "been dming", "been messaging",
    "been sending", "tried", "contacted", "reached out", "answered", "emailed",
)
# fmt: on
_DM_EXCLUDED = _rx(
    "|".join(
        [
            "@[A-Za-z0-9_]+",  # handles: @DMRegister, @PrivateSR1
            # the writer's own past action, up to the end of the clause
            _NW
            + "(?:i|i've|ive|i have|i'd|i had)"
            + "(?: (?:already|just|also|even|literally|actually|previously|recently|again|"
            + "since|then|twice|repeatedly|both|now))* "
            + _FIRST_PERSON_PAST
            + "[^.!?,;\n]*",
            _NW + "already (?:sent|dmed|dm'd|dmd|pmed|pm'd|messaged)[^.!?,;\n]*",
            _NW + "(?:my|mine) (?:own )?(?:dms?|pms?|inbox|direct messages?|private messages?|"
            "messages)",
            # "no need to DM", "without having to DM"
            _NW + "(?:without|no need to|don't need to|do not need to|needn't|instead of|"
            "rather than) (?:(?:having|needing|to|a|any) )*(?:dm|pm|direct message|"
            "private message|message us)",
        ]
    )
)
# E-mail inboxes. A text that talks about e-mail anywhere (the words e-mail, mail, Gmail,
# spam, junk, newsletter, an address, or a link or code that is sent by e-mail: reset,
# verification, confirmation, activation, sign-in) has its "inbox" nouns ("check your
# inbox", "in your inbox", "inbox/spam folders") blanked out by _DM_MAIL_INBOX. A bare
# "link" is no such cue: brands send links by DM as well.
_DM_MAIL_CONTEXT = _rx(
    "[^A-Za-z0-9_@/.]"  # not inside a handle (@EmailSupport), URL or domain
    + _words(
        "e-?mail",
        "(?:g|hot|y)mail",
        "mail(?:s|box|boxes)?" + _NW,
        "spam",
        "junk",
        "newsletter",
        "correo",
        "courriel",
        "(?:verification|confirmation|activation|reset|password|log-?in|sign-?in|magic|"
        "invitation) links?",
        "(?:verification|activation|reset|log-?in|sign-?in) codes?",
        "password reset",
        "reset (?:your |the )?password",
    )
    + "|[A-Za-z0-9._%+-]@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}|__email__"
)
# In those texts: "inbox" as a noun goes, while "inbox us/me/them", "inboxed", "inboxing"
# and "send us an inbox" (the verb, and the noun meaning a message) are kept by group 1:
# "Inbox us your e-mail address" still asks for a DM.
_DM_MAIL_INBOX = _rx(
    "(" + _NW + "(?:an inbox|inbox (?:us|me|them)" + _NW + "|inbox(?:ed|ing)))|inbox"
)

# ----------------------------------------------------------------------------------- ack_only

_OFFER = "\x1e"  # stands in for a courtesy offer of more help, see _ACK_OFFER
_EMOJI = (
    "\u00a9\u00ae\u200b\u200d\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff"
    "\u3030\ufe0f\U0001f000-\U0001faff"
)
# between sentences: punctuation, emoji, emoticons, HTML entities and hashtags
_PUNCT = (
    "(?:[.!,;:\u2026~*()\"'\u2019\u201c\u201d\u2013\u2014\\-" + _EMOJI + "]"
    "|&(?:amp|lt|gt|quot|#[0-9]+);|<3|:-?[dp]|#[A-Za-z0-9_]+)"
)
_SEP = "(?:[ \t\r\n\u00a0]|" + _PUNCT + ")*"
_SEP_PUNCT = "[ \t\r\n\u00a0]*" + _PUNCT + _SEP  # at least one punctuation mark or emoji
# the rest of an acknowledgement clause: up to the next punctuation or emoji; a hyphen only
# inside a word
_TAIL = (
    '(?:[ \t\u00a0](?:[^.!?,;:\n\r\u2026()"\u201c\u201d\u2013\u2014|~*^\\-'
    + _EMOJI
    + "]|-[A-Za-z])*)?"
)
_INTENS = (
    "(?:(?:so|very|really|truly|terribly|extremely|incredibly|sincerely|deeply|awfully|"
    "super|genuinely|do|again|our|my|many|sincere|sincerest|deepest|humble|huge|massive|big|"
    "most|most sincere|just|always|also|certainly|definitely|totally|absolutely|completely|"
    "fully|entirely|perfectly) )*"
)
_SUBJ = (
    "(?:(?:we|i)(?:'re|'m| are| am|re|m|'d be| would be| were| was| would like to|'d like to|"
    " want to| wanted to)? )?"
)
# fmt: off
_ACK_ADJ = _words(
    "frustrating", "annoying", "disappointing", "concerning", "worrying", "upsetting",
    "saddening", "sad", "unfortunate", "unacceptable", "inconvenient", "good", "great",
    "awesome", "amazing", "wonderful", "fantastic", "excellent", "brilliant", "lovely", "nice",
    "cool", "sweet", "fun", "funny", "hilarious", "ideal", "okay", "ok", "alright", "odd",
    "strange", "weird", "unusual", "bad", "terrible", "awful", "horrible", "rough", "tough",
    "stressful", "scary", "alarming", "irritating", "infuriating", "troubling", "confusing",
    "puzzling", "exciting", "interesting", "understandable", "cute", "adorable", "beautiful",
    "impressive", "epic", "perfect", "fab", "fabulous", "stellar", "delicious", "tasty",
    "yummy", "the worst", "the best", "news", "music to our ears",
    "an? (?:bummer|pain|shame|drag|hassle|nightmare|letdown|let down)",
    "an? (?:great|good|nice|lovely|fantastic|wonderful|fun) (?:one|idea|point|question|shot|"
    "pic|photo|picture|look|choice|suggestion|deal)",
    "no (?:fun|good)",
    "what we (?:like|want|love|hope|expect|wanna|ever want) to (?:hear|see|read)",
    "the (?:experience|service|news|impression|journey|trip|flight|visit)",
    "how we", "to hear", "to see", "to read",
)
# fmt: on
# sentences that stand alone: greetings, interjections
_ACK_BARE = [
    "(?:hi|hey|hello|hiya|heya|howdy|greetings|dear|good (?:morning|afternoon|evening|day)|"
    "morning|evening|afternoon)(?: (?:there|again|all|folks|everyone|friend|guys|team))?",
    "(?:oh|ah|aw+|ugh|uh|hmm+|hm+|eek|yikes|oops|whoops|oh no+|oh dear|oh my|oh man|uh oh|"
    "wow|whoa|woah|yay|woo+|wo+t|hooray|ha(?:ha)+|lol|phew|gosh|geez|jeez|noo+|dang|darn|"
    "bummer|boo|oof|ouch|eep|blimey|crikey|oh my (?:goodness|gosh)|goodness|omg)",
]
# clauses that run on to the next punctuation mark (_TAIL)
_ACK_CLAUSES = [
    # apologies
    _SUBJ + _INTENS + "(?:sorry|apologi[sz]e|apologies|regret)" + _TAIL,
    # thanks and appreciation
    "(?:thanks|thank you|thank u|thankyou|thx|ty|tysm|many thanks|cheers|ta|much appreciated|"
    "appreciated|appreciate it)" + _TAIL,
    "(?:(?:we|i) )?" + _INTENS + "(?:appreciate|value|love|adore)" + _TAIL,
    # empathy
    "(?:we|i) "
    + _INTENS
    + "(?:(?:can|can only|do|really|fully|hear you and|understand and) )*"
    + "(?:hear you|hear ya|understand|get it|get that|get how|get why|get where|know how|"
    "know what|can imagine|imagine|see how|see why|feel your|share your|empathi[sz]e|"
    "sympathi[sz]e|feel for you|feel the same|agree|hate (?:to|that|when|hearing|seeing)|"
    "don't like (?:to|that|hearing|seeing)|do not like|never like|would be|'d be)" + _TAIL,
    _SUBJ + _INTENS + "(?:concerned|gutted|saddened|disappointed|upset|bummed|devastated|"
    "sad|frustrated|glad|happy|pleased|thrilled|delighted|excited|stoked|chuffed|honou?red|"
    "proud|grateful|thankful|relieved|looking forward|here (?:to help|for you|if you need us|"
    "whenever you need us|if you need anything)|here)" + _TAIL,
    "(?:it|that|this) makes (?:us|me)" + _TAIL,
    "(?:that|this|which|it|oh that|well that)"
    + "(?:'s| is| does not| doesn't| isn't| is not| sounds| does sound| must be| must have "
    "been| can be| would be| would have been| has been| was|s)"
    + "(?: (?:definitely|certainly|really|so|very|not|no|never|quite|super|totally|truly|"
    "sound|sounds|look|looks|seem|seems|at all|"
    "incredibly|extremely|beyond|absolutely|such|pretty|rather|a bit|a little|kinda|kind of|"
    "far from|less than|most|just|indeed|always|sure|like|what|an|a))* " + _ACK_ADJ + _TAIL,
    # courtesy, praise and closings
    "(?:great|good|awesome|nice|lovely|wonderful|fantastic|excellent|brilliant|perfect|"
    "amazing|cool|sweet|fab|super|splendid|terrific|outstanding|superb|noted|understood|"
    "gotcha|got it|fair enough|fair point|good point|good question|great question|good call|"
    "well said|well done|nice one|good one|same here|you too|likewise|same to you|agreed|"
    "indeed|love it|love this|love that|loving this|so cute|how fun|how cool|how exciting|"
    "how awesome|what a|ok|okay|alright|all good|no problem|no prob|no probs|no worries|"
    "not a problem|any ?time|my pleasure|our pleasure|pleasure|you're|you are|your welcome|welcome|"
    "you rock|nicely done|(?:we |i )?can't wait|"
    "(?:we|i) hope (?:to see|you|this|that|it)|take care|stay safe|be safe|safe travels|"
    "travel safe|bon voyage|bon app[e\u00e9]tit|"
    "enjoy|have (?:a|an)|hope you|hope (?:this|that|it)|fingers crossed|best wishes|"
    "best regards|kind regards|regards|all the best|good luck|congrat(?:s|ulations)|"
    "happy (?:birthday|holidays|halloween|thanksgiving|new year|friday|monday|weekend)|"
    "merry christmas|see you|speak soon|talk soon|until next time|much love|x+|xo+|xoxo)" + _TAIL,
]
# Clauses must be followed by punctuation (their tail takes everything up to it), which keeps
# the automaton small enough for RE2's fast DFA; an emoji on its own ("🍟") is a reaction.
_ACK_ITEM_BARE = "(?:" + "|".join([*_ACK_BARE, _OFFER]) + ")"
_ACK_ITEM_CLAUSE = "(?:" + "|".join(_ACK_CLAUSES) + ")"
_ACK_TEXT = _rx(
    "^"
    + _SEP
    + "(?:"
    + _ACK_ITEM_BARE
    + _SEP
    + "|"
    + _ACK_ITEM_CLAUSE
    + _SEP_PUNCT
    + ")*(?:"
    + _ACK_ITEM_BARE
    + "|"
    + _ACK_ITEM_CLAUSE
    + ")"
    + _SEP
    + _END
    + "|^"
    + _SEP
    + "["
    + _EMOJI
    + "]"
    + _SEP
    + _END
)
# fmt: off
_ACK_HEAD = _rx(
    _words(
        "sorry", "apologi", "regret", "thank", "thx", "ty", "cheers", "appreciate", "hear",
        "understand", "glad", "happy", "pleased", "welcome", "pleasure", "worries", "problem",
        "enjoy", "have a", "great", "good", "awesome", "love", "concern", "frustrat",
        "imagine", "get it", "hope", "take care", "safe", "luck", "congrat", "noted", "here",
        "that", "this", "ok", "nice", "cool", "wait", "rock", "done", "[" + _EMOJI + "]",
    )
)
# fmt: on
# a vocative name closed by punctuation ("Thanks, Sarah!", "Mary, I'm sorry", "Hi Jamie!"), to
# be removed before _ACK_TEXT: case-sensitive, and kept out of _ACK_TEXT because mixing case
# modes there makes RE2 give up its fast DFA (ten times slower)
_ACK_NAME_WORD = "[A-Z][a-z'\u2019]+(?:[ \t][A-Z][a-z'\u2019]*)?"
_ACK_NAME = (
    "(,[ \t]*|(?:[Hh][Ii]|[Hh][Ee][Yy]|[Hh][Ee][Ll][Ll][Oo]|[Hh]iya|[Dd]ear)[ \t]+)"
    + _ACK_NAME_WORD
    + "[ \t]*([,.!]|[ \t\r\n]*"
    + _END
    + ")"
    + "|^([ \t]*)"
    + _ACK_NAME_WORD
    + "[ \t]*(,)"
)
# a generic offer of more help ("Let us know if you need anything else.") is courtesy, not an
# instruction: it is replaced by _OFFER, which _ACK_TEXT accepts as a sentence of its own
_ACK_OFFER_VERB = (
    "(?:(?:please )?(?:do )?let (?:us|me) know|(?:please )?(?:feel free to|don't hesitate to|"
    "do not hesitate to) (?:reach out|reach back out|contact us|ask|let us know|tweet us|"
    "get in touch|drop us a line|give us a shout)|give us a (?:shout|call|tweet)|reach out|"
    "tweet us|get in touch|contact us)"
)
_ACK_NEED = (
    "(?:if|should|when|whenever|in case) (?:you|there|we)(?:'s| is| are)? (?:ever |still )?"
    "(?:need|have|require|can|come across|run into|think of|anything|any)[^A-Za-z0-9_']"
)
_ACK_OFFER = _rx(
    "([^A-Za-z0-9_])(?:"
    + _ACK_OFFER_VERB
    + "(?: (?:to us|again|anytime|any time|here|with us))* "
    + _ACK_NEED
    + "[^.!?\n]*|"
    + _ACK_NEED
    + "[^.!?\n]*"
    + _ACK_OFFER_VERB
    + "|we(?:'ll| will) be (?:here|around|waiting)[^.!?\n]*"
    + ")"
)
_ACK_STRIP = _rx(
    "|".join(
        [
            "@[A-Za-z0-9_]+",
            "please accept",  # "Please accept our apologies." is an apology, not a request
            # agent signature at the very end: ^JK, -Sam, - Callum, *AB, ~Debs, /KB, =JJ
            "[ \t]*(?:\\^|[-\u2013\u2014*~/=|]{1,2})[ \t]*[A-Za-z][A-Za-z.]{0,20}"
            "(?:[ \t][A-Za-z][A-Za-z.]{0,12})?[ \t\r\n]*(" + _END + ")",
        ]
    )
)
# fmt: off
_ACK_CUE_WORDS = _words(
    "please", "pls", "plz", "kindly", "try", "tap", "click", "select", "go to", "head to",
    "head over", "visit (?:us|our|the|https?|www|a store|any|this|that)", "call", "ring us",
    "give us a (?:call|ring|shout|bell)", "phone (?:us|our|the)", "e-?mail (?:us|our|the|at)",
    "text us", "reply (?:to|with|here|back)", "let us know", "let me know",
    "keep us (?:posted|updated|informed|in the loop)", "tell us", "share", "send", "provide",
    "confirm", "make sure", "ensure", "check", "restart", "reboot", "reinstall", "reset",
    "update (?:your|the|to|it)", "upgrade", "download", "install", "log ?in", "sign ?in",
    "log ?out", "sign ?out", "clear", "turn (?:on|off)", "switch",
    "follow (?:us|the|these|this|up)", "dm", "you can", "you could", "you'll", "you will",
    "you should", "you may", "you might", "you need", "you must", "you don't (?:have|need)",
    "you do not (?:have|need)", "we'll", "we will", "i'll",
    "i will", "we've", "we have", "i've", "i have",
    "(?:we're|we are|i'm|i am) (?:(?:now|currently|already|still) )?(?:working|looking into|"
    "looking at|investigating|checking|aware|on it|unable|not able)",
    "looking into", "look into", "look at", "have a look", "take a look", "working on",
    "work on", "aware", "engineers?", "technicians?", "team is", "is now", "are now",
    "(?:is|are) (?:back|being)", "will be", "should be", "shortly", "asap",
    "(?:hope|hoping) to (?:have|get|fix|resolve|sort|restore|be able)",
    "expected to", "expect (?:to|it|your|the)", "but", "however", "unfortunately",
    "although", "though", "because", "due to", "as soon as", "available", "unavailable",
    "in stock", "out of stock", "policy", "cannot", "unable", "not able", "won't",
    "can'?t (?:do|help|find|see|access|process|issue|offer|provide|change|cancel|refund|"
    "guarantee|confirm|share|discuss|comment|speculate|make|give|get|locate|say|promise|"
    "control|view|assist|look|check|transfer|book|add|remove|reverse|override|waive)",
    "(?:has|have) been (?:refunded|fixed|resolved|restored|processed|issued|sent|credited|"
    "escalated|passed|forwarded|shared|updated|approved|reinstated|reactivated|unlocked|"
    "released|dispatched|shipped|delivered|rebooked|located|found|reported|logged|raised|"
    "applied|removed|added)",
    "passed", "pass (?:this|it|that|your|on|along)", "forward(?:ed)?", "feedback (?:with|to)",
    "reach out", "contact(?: us)?", "get in touch", "get back", "here's", "there's", "via",
)
# fmt: on
_ACK_QUICK_NO = r"\?|https?://|www\."
_ACK_CUES = _rx(
    # words of action or instruction, a question mark, or a thread marker (1/2: more follows)
    _NW + _ACK_CUE_WORDS + _NW + "|" + _NW + "(?:investigat|escalat)|\\?|" + _NW + "[1-9]/[1-9]"
)

# ------------------------------------------------------------------------ confirms_resolution

# fmt: off
_RESOLVED_TERM = _words(
    "fixed", "sorted", "resolved", "solved", "works", "working", "worked", "did the trick",
    "(?:resolve|fix|solve)(?:s|es)?",
    "done the trick", "does the trick", "up and running", "all good", "all set", "good to go",
    "gone", "disappeared", "went away", "back online", "back to normal",
)
# fmt: on
_RESOLVED = _rx(
    "|".join(
        [
            _NW + "(?:fixed|sorted|resolved|solved)" + _NW,
            _NW + "(?:works|working|worked)(?: (?:fine|great|perfectly|perfect|properly|"
            "normally|well|correctly|ok|okay|again|now|like a charm|a charm|a treat|"
            "brilliantly|flawlessly|as expected|as it should|like new|100%))+" + _NW,
            _NW + "(?:it|that|this|which|everything|it's|its|that's|thats|now|finally|"
            "seems|seems to be|is|app|service|internet|wifi|account|phone|card)"
            + "(?: [a-z']+)? (?:works|worked|working)"
            + _NW,
            _NW + "(?:did|does|done) the trick",
            _NW + "(?:that|this|it) did it" + _NW,
            "up and running",
            _NW + "back (?:online|to normal|in business|on track)",
            _NW
            + "(?:all good|all set|good to go|all fine|fine now|good now|ok now|okay now)"
            + _NW,
            _NW + "(?:problem|issue|error|bug|glitch)(?:'s| is| has)?(?: (?:now|finally))? "
            "(?:gone|disappeared|cleared|cleared up|went away|gone away)" + _NW,
            _NW + "no (?:more )?(?:issues|problems) now",
            _NW + "no longer (?:an issue|a problem|having (?:the |this |that |any )?"
            "(?:issue|problem)s?)",
            _NW + "got it (?:to work|working)",
            _NW + "(?:does|did|that|this|which|it|restarting|rebooting|reinstalling|updating|"
            "resetting) (?:resolve|fix|solve|sort)(?:s|es|d|ed)? (?:it|the|this|that|my)" + _NW,
            "\u89e3\u6c7a\u3057\u307e\u3057\u305f|\u76f4\u308a\u307e\u3057\u305f",  # Japanese
            "^ (?:@[A-Za-z0-9_]+ )*(?:worked|works)" + _NW,  # "@AppleSupport Worked 👌"
        ]
    )
)
# fmt: off
_RESOLVED_NEGATORS = _words(
    "not", "never", "no longer", "nothing", "nobody", "no one", "none", "neither", "nor",
    "hardly", "barely", "yet to", "stop", "stops", "stopped", "how", "why",
    "without", "[a-z]+n't", "isnt", "arent", "wasnt", "werent", "hasnt", "havent", "hadnt",
    "wont", "wouldnt", "cant", "cannot", "couldnt", "didnt", "dont", "doesnt", "shouldnt",
    "aint", "need", "needs", "needed", "want", "wants", "wanted", "wanna", "hope", "hoping",
    "hopefully", "expect", "expected", "expecting", "supposed", "should", "would", "will",
    "gonna", "going to", "until", "till", "unless", "if", "whether", "get", "gotta",
    "have to", "has to", "had to", "must", "please", "pls", "plz", "meant to", "trying",
    "try", "waiting", "wait", "await", "awaiting", "claim", "claims", "claimed",
    "promised", "apparently", "supposedly", "allegedly",
    "(?:you|they|he|she|someone|somebody|agent|rep|advisor) (?:said|says|told me|claimed)",
    "(?:was|were) told",
)
# fmt: on
_RESOLVED_EXCLUDED = _rx(
    "|".join(
        [
            "@[A-Za-z0-9_]+",
            "[^.!?\n]*\\?",  # questions: "is it fixed?"
            _NW + _RESOLVED_NEGATORS + "(?: [^ .!?,;:\n]+){0,3} " + _RESOLVED_TERM,
            _NW + "(?:was|were|used to|had been)(?: [a-z']+){0,2} (?:working|worked|works|"
            "fine|ok|okay|good)",
            _NW + "fixed (?:price|rate|line|term|fee|cost|amount|date|time|address|ip|"
            "wireless|broadband|penalty|charge|income|menu|schedule)",
            _NW + "sorted (?:by|alphabetically|list)",
            _NW + "resolved to",
            _NW + "all good (?:news|things|stuff|points|questions)",
            _NW + "(?:fixed|sorted|resolved|solved|works|worked) (?:nothing|jack|squat|"
            "nada|sod all|fuck all|f all)",
        ]
    )
)
# fmt: off
_REGRESSION = _rx(
    _NW
    + _words(
        "thanks for nothing", "thank you for nothing", "now it's not", "now it is not",
        "now it isn't", "now its not", "now it's (?:broken|down|gone|stopped|doing it|"
        "happening|worse)", "but now", "broke (?:again|something)", "broken again",
        "down again", "not again", "happening again", "doing it again",
        "same (?:issue|problem) again", "stopped working", "stops working",
        "keeps (?:crashing|dropping|failing|freezing|breaking|happening)",
        "still (?:not|no|having|getting|broken|down|waiting|isn't|doesn't|won't|can't|"
        "hasn't|haven't|the same|an? (?:issue|problem)|happening|crashing|failing)",
        "back to square one", "half the time", "sometimes", "on and off", "intermittent(?:ly)?",
    )
    + _NW
)
# fmt: on

PATTERNS: dict[str, str] = {
    "link": _LINK,
    "email": _EMAIL,
    "phone": _PHONE,
    "phone_id": _PHONE_ID,
    "dm": _DM,
    "dm_excluded": _DM_EXCLUDED,
    "dm_mail_context": _DM_MAIL_CONTEXT,
    "dm_mail_inbox": _DM_MAIL_INBOX,
    "ack_text": _ACK_TEXT,
    "ack_head": _ACK_HEAD,
    "ack_strip": _ACK_STRIP,
    "ack_offer": _ACK_OFFER,
    "ack_name": _ACK_NAME,
    "ack_cues": _ACK_CUES,
    "ack_quick_no": _ACK_QUICK_NO,
    "resolved": _RESOLVED,
    "resolved_excluded": _RESOLVED_EXCLUDED,
    "regression": _REGRESSION,
}
"""Every regular expression used, by name (for tests and the methodology appendix)."""


def check_patterns() -> None:
    """Every pattern must also compile as a Python regular expression (checked by the tests;
    compiling them all costs more than a run's start-up should)."""
    for pattern in PATTERNS.values():
        re.compile(pattern)


# ---------------------------------------------------------------------------------- helpers


def _prepare(texts: pd.Series) -> pa.Array:
    """Texts as one Arrow array, NA as "", padded with a space at each end and _END."""
    import pandas as pd

    if isinstance(texts.dtype, pd.StringDtype) and texts.dtype.storage == "pyarrow":
        array = pa.array(texts.array)
    else:
        array = pa.array(texts.astype(_STRING).array)
    return prepare_arrow(array)


def prepare_arrow(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Arrow strings as the rules read them (see ``_prepare``)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = pc.fill_null(array.cast(pa.large_string()), scalar("", pa.large_string()))
    pad = [scalar(v, pa.large_string()) for v in (" ", " " + _END, "")]
    return pc.binary_join_element_wise(pad[0], array, pad[1], pad[2])


def _contains(s: pa.Array, pattern: str) -> np.ndarray:
    """Row-wise "pattern occurs" as a numpy bool array (RE2, in Arrow)."""
    return bools(pc.match_substring_regex(s, pattern))


def _replace(s: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """Every match of ``pattern`` replaced (RE2 rewrite syntax: ``\\1`` is group 1)."""
    return pc.replace_substring_regex(s, pattern=pattern, replacement=replacement)


def _contains_after_removing(s: pa.Array, pattern: str, excluded: str) -> np.ndarray:
    """`pattern` occurs once every match of `excluded` is blanked out.

    Only the rows where `pattern` occurs at all are rewritten, which keeps the costly
    replace off most of an archive.
    """
    hit = _contains(s, pattern)
    if hit.any():
        rows = np.flatnonzero(hit)
        cleaned = _replace(s.take(arrow(rows)), excluded, " ")
        hit[rows] = _contains(cleaned, pattern)
    return hit


def _result(values: np.ndarray, texts: pd.Series, name: str) -> pd.Series:
    import pandas as pd

    return pd.Series(values, index=texts.index, name=name, dtype=bool)


def _link(s: pa.Array) -> np.ndarray:
    return _contains(s, _LINK)


def _email(s: pa.Array) -> np.ndarray:
    return _contains(s, _EMAIL)


def _phone(s: pa.Array) -> np.ndarray:
    return _contains_after_removing(s, _PHONE, _PHONE_ID)


def _dm(s: pa.Array) -> np.ndarray:
    """``_contains_after_removing(s, _DM, _DM_EXCLUDED)``, and an e-mail inbox removed too
    (see _DM_MAIL_CONTEXT): only the rows still saying "inbox" are checked for e-mail cues."""
    hit = _contains(s, _DM)
    if hit.any():
        rows = np.flatnonzero(hit)
        original = s.take(arrow(rows))
        cleaned = _replace(original, _DM_EXCLUDED, " ")
        still = _contains(cleaned, _DM)
        inbox = np.flatnonzero(
            still & bools(pc.match_substring(cleaned, "inbox", ignore_case=True))
        )
        if len(inbox):
            mail = inbox[_contains(original.take(arrow(inbox)), _DM_MAIL_CONTEXT)]
            if len(mail):
                blanked = _replace(cleaned.take(arrow(mail)), _DM_MAIL_INBOX, r"\1")
                still[mail] = _contains(blanked, _DM)
        hit[rows] = still
    return hit


def _ack_only(s: pa.Array) -> np.ndarray:
    out = _acknowledges(s)
    rows = np.flatnonzero(out)
    if len(rows):
        original = s.take(arrow(rows))
        out[rows] = ~(_link(original) | _dm(original) | _phone(original) | _email(original))
    return out


def _acknowledges(s: pa.Array) -> np.ndarray:
    """ack_only's wording alone: the text only acknowledges, apologises or thanks, leaving
    links, DMs, phone numbers and e-mail addresses aside (``_ack_only`` checks those)."""
    out = _contains(s, _ACK_HEAD)
    if not out.any():
        return out
    rows = np.flatnonzero(out)
    # questions and links: cheap to drop
    rows = rows[~_contains(s.take(arrow(rows)), _ACK_QUICK_NO)]
    stripped = _replace(s.take(arrow(rows)), _ACK_STRIP, r"\1")
    stripped = _replace(stripped, _ACK_OFFER, "\\1" + _OFFER)
    keep = ~_contains(stripped, _ACK_CUES)  # cheap, so before the costly _ACK_TEXT
    rows, stripped = rows[keep], stripped.filter(arrow(keep))
    if len(rows):
        unnamed = stripped
        for _ in range(2):  # twice: "Hello, Ismail." has two overlapping candidates
            unnamed = _replace(unnamed, _ACK_NAME, r"\1\2\3\4")
        rows = rows[_contains(unnamed, _ACK_TEXT)]
    out[:] = False
    out[rows] = True
    return out


def _confirms_resolution(s: pa.Array) -> np.ndarray:
    hit = _contains_after_removing(s, _RESOLVED, _RESOLVED_EXCLUDED)
    if hit.any():
        rows = np.flatnonzero(hit)
        hit[rows] = ~_contains(s.take(arrow(rows)), _REGRESSION)
    return hit


# ----------------------------------------------------------------------------- public API


def link(texts: pd.Series) -> pd.Series:
    """True where the text contains an http://, https:// or www. address."""
    return _result(_link(_prepare(texts)), texts, "link")


def dm(texts: pd.Series) -> pd.Series:
    """True where the text moves the conversation to private messages."""
    return _result(_dm(_prepare(texts)), texts, "dm")


def phone(texts: pd.Series) -> pd.Series:
    """True where the text contains a telephone number."""
    return _result(_phone(_prepare(texts)), texts, "phone")


def email(texts: pd.Series) -> pd.Series:
    """True where the text contains an e-mail address."""
    return _result(_email(_prepare(texts)), texts, "email")


def ack_only(texts: pd.Series) -> pd.Series:
    """True where the text only acknowledges, apologises or thanks."""
    return _result(_ack_only(_prepare(texts)), texts, "ack_only")


def confirms_resolution(texts: pd.Series) -> pd.Series:
    """True where a customer's text says the problem is solved."""
    return _result(_confirms_resolution(_prepare(texts)), texts, "confirms_resolution")


_RULES = {
    "link": _link,
    "dm": _dm,
    "phone": _phone,
    "email": _email,
    "ack_only": _ack_only,
    "confirms_resolution": _confirms_resolution,
}


REPLY_TYPES = ("link", "dm", "phone", "email")


def reply_types(texts: pa.Array) -> dict[str, np.ndarray]:
    """Per text prepared by ``prepare_arrow``: ``name -> bool array`` for REPLY_TYPES."""
    return {name: _RULES[name](texts) for name in REPLY_TYPES}


def acknowledges(texts: pa.Array) -> np.ndarray:
    """Per text prepared by ``prepare_arrow``: ack_only's wording test alone. ``ack_only``
    is this and none of ``reply_types``, so a caller holding those combines the two."""
    return _acknowledges(texts)


def resolutions(texts: pa.Array) -> np.ndarray:
    """Per text prepared by ``prepare_arrow``: whether it confirms the problem solved."""
    return _confirms_resolution(texts)


def classify_text(text: str) -> dict[str, bool]:
    """All six rules for one text (a convenience; use the Series functions for tables)."""
    import pandas as pd

    prepared = _prepare(pd.Series([text], dtype=object))
    return {name: bool(rule(prepared)[0]) for name, rule in _RULES.items()}
