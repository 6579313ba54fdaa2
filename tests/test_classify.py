"""Table-driven tests for socialbench.measure.classify.

Wording comes from many brands' public customer-care replies (airlines, telcos, retailers,
banks, tech, food delivery; UK and US English); cases marked "twcs" are quoted from the
Customer Support on Twitter sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from socialbench.measure import classify

RULE_NAMES = ["link", "dm", "phone", "email", "ack_only", "confirms_resolution"]

# ------------------------------------------------------------------------------------ link

LINK_CASES = [
    pytest.param("@115712 Check this out: https://t.co/AbCdEf1234", True, id="tco"),
    pytest.param("Please visit http://www.example.com/help", True, id="http-www"),
    pytest.param("Find your nearest store at www.tesco.com/store-locator", True, id="www"),
    pytest.param("More info here: https://support.apple.com/HT201412 ^AS", True, id="apple"),
    pytest.param("Track it at https://www.ups.com/track?loc=en_US", True, id="ups-query"),
    pytest.param("Head to https://t.co/xYz12 and select 'Contact us'", True, id="mid-text"),
    pytest.param("Book at WWW.BRITISHAIRWAYS.COM today", True, id="www-upper"),
    pytest.param("HTTPS://T.CO/ABC123 for details", True, id="https-upper"),
    pytest.param("see http://bit.ly/2xYzAb", True, id="bitly"),
    pytest.param("(link: https://t.co/abc) ^JK", True, id="in-parens"),
    pytest.param("Details:https://help.uber.com", True, id="glued-to-colon"),
    pytest.param("Our status page www.downdetector.co.uk shows no issues", True, id="www-uk"),
    pytest.param("Reset it here \u2192 https://account.microsoft.com/reset", True, id="arrow"),
    pytest.param("https://t.co/abc", True, id="alone"),
    pytest.param("Steps below\nhttps://t.co/abc", True, id="after-newline"),
    pytest.param("Here you go \U0001f449 https://t.co/abc", True, id="after-emoji"),
    pytest.param("Policy: http://www.southwest.com/html/customer-service/", True, id="southwest"),
    pytest.param("Visit www.amazon.co.uk/contact-us for live chat", True, id="amazon-uk"),
    pytest.param("Hulu help: https://help.hulu.com/s/article/abc?language=en_US", True, id="hulu"),
    pytest.param("Check https://status.spotify.com/ for updates /KB", True, id="spotify"),
    pytest.param("https://twitter.com/messages/compose?recipient_id=12345", True, id="dm-link"),
    pytest.param("Archive: https://web.archive.org/web/2020/https://x.com/", True, id="archive"),
    pytest.param("Router page http://192.168.1.1 is local", True, id="ip-url"),
    pytest.param("Settings &gt; https://t.co/x", True, id="after-entity"),
    pytest.param("Menu: www.chipotle.com/menu -Becky", True, id="chipotle"),
]
LINK_NEGATIVE = [
    pytest.param("We're sorry to hear that. ^JK", False, id="ack"),
    pytest.param("Please DM us your order number.", False, id="dm"),
    pytest.param("Email help@brand.com", False, id="email"),
    pytest.param("Awww. Thanks so much!", False, id="awww-not-www"),
    pytest.param("Go to apple.com/support", False, id="bare-domain-not-counted"),
    pytest.param("http is a protocol", False, id="word-http"),
    pytest.param("The https:// prefix is missing a host", False, id="scheme-only"),
    pytest.param("Call 0800 123 4567", False, id="phone"),
    pytest.param("See Settings > General > About", False, id="menu-path"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="none"),
    pytest.param("We've sent you a link via DM", False, id="word-link"),
    pytest.param("Use the Amazon app", False, id="app"),
    pytest.param("Boarding 10:30 at gate B12", False, id="time"),
    pytest.param("Hours: 9am-5pm", False, id="hours"),
    pytest.param("Order #112-7654321-1234567", False, id="order"),
    pytest.param("\u00a345.50 refund issued", False, id="price"),
    pytest.param("Thanks for reaching out!", False, id="thanks"),
    pytest.param("Message us on Facebook Messenger", False, id="messenger"),
    pytest.param("Wwwhat a day!", False, id="wwwhat"),
    pytest.param("Try www dot brand dot com", False, id="spelled-out"),
    pytest.param("Version 1.0.68.407.g6864aaaf", False, id="version"),
    pytest.param("Type http:/ into the bar", False, id="broken-scheme"),
    pytest.param("Update to iOS 11.1 via Settings", False, id="ios"),
    pytest.param("Follow @wwwbrand for updates", False, id="handle"),
]

# -------------------------------------------------------------------------------------- dm

DM_CASES = [
    pytest.param(
        "@115712 Please send us a Private Message so that we can further assist you.",
        True,
        id="twcs-sprint-private-message",
    ),
    pytest.param(
        "@115713 This is saddening to hear. Please shoot us a DM, so that we can look into "
        "this for you. -KC",
        True,
        id="twcs-shoot-us-a-dm",
    ),
    pytest.param(
        "Please follow and DM us so that we can look into this. ^HSB", True, id="follow-and-dm"
    ),
    pytest.param("Could you DM us your order number? ^SJ", True, id="dm-us-order-number"),
    pytest.param(
        "Sorry to read that. Please check your DMs for assistance.", True, id="check-your-dms"
    ),
    pytest.param(
        "Drop us a DM with your booking reference and we'll take a look. ^Jane",
        True,
        id="drop-us-a-dm",
    ),
    pytest.param("Slide into our DMs and we'll sort it \U0001f609", True, id="slide-into-dms"),
    pytest.param("Feel free to reach out via DM.", True, id="reach-out-via-dm"),
    pytest.param(
        "Can you message us privately with your account details?", True, id="message-us-privately"
    ),
    pytest.param(
        "Please send us a Direct Message with your email address.", True, id="direct-message"
    ),
    pytest.param("Our DMs are open if you need anything! *KatGrisham", True, id="our-dms-open"),
    pytest.param("Please PM us more info so we can follow up. ^VP", True, id="pm-us"),
    pytest.param("Let's take this to DM: https://t.co/abc", True, id="take-to-dm"),
    pytest.param("We've sent you a DM with next steps.", True, id="we-sent-a-dm"),
    pytest.param(
        "Pls follow/DM your confirmation # to take a look. *AFM", True, id="follow-slash-dm"
    ),
    pytest.param("Hi there, please inbox us your order details.", True, id="inbox-us"),
    pytest.param(
        "Send us a message with your postcode and we'll check. - Ceri", True, id="send-us-a-message"
    ),
    pytest.param("Message us on Messenger and we'll help.", True, id="message-us"),
    pytest.param("We've replied to your DM. ^RA", True, id="replied-to-your-dm"),
    pytest.param(
        "Continue here: https://twitter.com/messages/compose?recipient_id=85741735",
        True,
        id="dm-deep-link",
    ),
    pytest.param("Can you DM me the barcode? - Kirsty", True, id="dm-me"),
    pytest.param(
        "Happy to help! Please confirm your email address through direct message.",
        True,
        id="through-direct-message",
    ),
    pytest.param("We're always here to help, and only a DM away! *JohnWard", True, id="a-dm-away"),
    pytest.param("Please send us a private msg with the last 4 digits.", True, id="private-msg"),
    pytest.param("We received your DM and will respond shortly.", True, id="received-your-dm"),
    pytest.param("I'll DM you the details now -Sam", True, id="agent-will-dm"),
    pytest.param("Por favor revisa tus mensajes directos.", True, id="spanish"),
    pytest.param(
        "We reply to your message. Please, check your inbox. -GH", True, id="check-your-inbox"
    ),
    pytest.param("dm us your account number pls", True, id="lowercase"),
    pytest.param("Please DM'd details to us", True, id="dm-apostrophe"),
    # "inbox" with no e-mail cue anywhere is the Twitter/Facebook inbox
    pytest.param("Hey, inbox us your order number ^MK", True, id="inbox-us-order-number"),
    pytest.param("Send us an inbox and we'll take a look.", True, id="send-us-an-inbox"),
    pytest.param("Please check your DMs/inbox for our reply.", True, id="check-dms-slash-inbox"),
    pytest.param("We've sent you a link, please check your inbox.", True, id="bare-link-in-inbox"),
    pytest.param("Check your inbox! @MailSupport_UK", True, id="mail-handle-is-no-cue"),
    pytest.param(
        "Please check your inbox and confirm your mailing address.",
        True,
        id="mailing-address-is-no-cue",
    ),
    # an e-mail elsewhere in the text does not cancel a DM request
    pytest.param(
        "We've emailed you the details. If it's not in your inbox, please DM us.",
        True,
        id="email-inbox-then-dm-us",
    ),
    pytest.param(
        "Please DM us. Our email confirmation should also be in your inbox.",
        True,
        id="dm-us-then-email-inbox",
    ),
    pytest.param(
        "Inbox us your email address and we'll look into it.", True, id="inbox-us-your-email"
    ),
    pytest.param(
        "Send us an inbox with the email address on the account.",
        True,
        id="send-an-inbox-with-email",
    ),
    pytest.param(
        "We've inboxed you, the email with your refund should follow.",
        True,
        id="inboxed-you-with-email",
    ),
]
DM_NEGATIVE = [
    pytest.param("my DMs are open", False, id="customer-my-dms-open"),
    pytest.param("I DMed you yesterday and still no reply", False, id="customer-i-dmed"),
    pytest.param("I sent you a DM", False, id="customer-i-sent-a-dm"),
    pytest.param(
        "I have sent several private messages and no one is responding as usual",
        False,
        id="twcs-customer-private-messages",
    ),
    pytest.param("I've already DM'd you twice!", False, id="customer-already"),
    pytest.param("Already DMed you, check it out", False, id="customer-already-no-subject"),
    pytest.param("Check my DMs please", False, id="customer-check-my-dms"),
    pytest.param("We're open until 5 PM today.", False, id="time-pm"),
    pytest.param("Our hours are 9am-5pm, Mon-Fri.", False, id="hours-pm"),
    pytest.param("Your delivery is due between 2 pm and 4 pm", False, id="delivery-pm"),
    pytest.param("Please visit the DMV website for that.", False, id="dmv"),
    pytest.param("Please call us on 0800 123 4567.", False, id="phone"),
    pytest.param("Thanks for your message!", False, id="your-message"),
    pytest.param("Are you seeing an error message?", False, id="error-message"),
    pytest.param("We left a message on your voicemail.", False, id="voicemail"),
    pytest.param("Send us a note via https://t.co/K05RdmK3t4", False, id="web-form"),
    pytest.param("Please check your email inbox for the confirmation.", False, id="email-inbox"),
    pytest.param(
        "We've emailed you, please check your inbox and spam folder.", False, id="inbox-and-spam"
    ),
    # e-mail inboxes, whatever the sentence the e-mail cue stands in
    pytest.param(
        "Please check your inbox/spam folders for our email. It was sent this morning, so it "
        "should be in your inbox.",
        False,
        id="inbox-spam-folders-email",
    ),
    pytest.param(
        "We've sent you an email! Check your inbox (and spam folder) ^JD",
        False,
        id="sent-an-email-check-inbox",
    ),
    pytest.param("Check your inbox. We emailed you an hour ago.", False, id="inbox-before-email"),
    pytest.param(
        "It should be in your inbox shortly. Let us know if the e-mail doesn't arrive!",
        False,
        id="in-your-inbox-e-mail-later",
    ),
    pytest.param("Not in your inbox? Please look in junk.", False, id="inbox-junk"),
    pytest.param(
        "Check your inbox for the reset link. It expires after 24 hours.",
        False,
        id="inbox-reset-link",
    ),
    pytest.param(
        "Please click the verification link we sent to your inbox.",
        False,
        id="inbox-verification-link",
    ),
    pytest.param("Please check your Gmail inbox.", False, id="gmail-inbox"),
    pytest.param(
        "Please check your inbox, or write to help@brand.com", False, id="inbox-with-address"
    ),
    pytest.param(
        "I've emailed you the details, please check your inbox.", False, id="agent-emailed-inbox"
    ),
    pytest.param(
        "We may be able to help you without having to DM. Let us know!",
        False,
        id="without-having-to-dm",
    ),
    pytest.param("Follow us for updates on new flavours!", False, id="follow-only"),
    pytest.param("Shout out to @DM and @PM_Team for the help", False, id="handles"),
    pytest.param("The PM announced new rail fares today.", False, id="prime-minister"),
    pytest.param("Admin fees apply to all changes.", False, id="admin"),
    pytest.param("Your shipment arrives at 3pm", False, id="shipment"),
    pytest.param("Send us a tweet with the hashtag #HelpMe", False, id="tweet"),
    pytest.param("Please give us a call at 1-800-275-2273", False, id="call"),
    pytest.param("I tried to DM you but it won't let me", False, id="customer-tried"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="none"),
    pytest.param("https://t.co/pmishxgpvp so we may improve", False, id="pm-in-url"),
]

# ----------------------------------------------------------------------------------- phone

PHONE_CASES = [
    pytest.param("Call us free on 0800 123 4567.", True, id="uk-freephone"),
    pytest.param("Our Aftersales team is on 0344 556 5650 from 8am ^CB", True, id="twcs-uk-0344"),
    pytest.param("Please call 1-800-275-2273 for help.", True, id="us-1-800"),
    pytest.param("Reach us at (800) 555-0199", True, id="us-parens"),
    pytest.param(
        "Contact our Web Technical Support folks at 800-222-2377.", True, id="twcs-us-dashes"
    ),
    pytest.param("Report it to Gogo at 1.877.350.0038. *AFM", True, id="twcs-us-dots"),
    pytest.param("Call +44 20 7946 0018", True, id="intl-uk"),
    pytest.param("Call +1 877 555 0199 any time", True, id="intl-us"),
    pytest.param(
        "Our Lagos office on (+234) 70 94250 556 Monday to Friday", True, id="twcs-intl-parens"
    ),
    pytest.param("Call 1-800-MY-APPLE", True, id="vanity"),
    pytest.param("Freephone 0800 692 692", True, id="uk-10-digit"),
    pytest.param("0345 600 1234 (Mon-Fri 8am-8pm)", True, id="uk-0345"),
    pytest.param("Call 020 7946 0018", True, id="uk-london"),
    pytest.param("Ring 01632 960123", True, id="uk-5-6"),
    pytest.param("Text 07700 900123", True, id="uk-mobile"),
    pytest.param("Call 03457 404 404", True, id="uk-5-3-3"),
    pytest.param("Call our Irish team on 1800 123 456", True, id="ireland-1800"),
    pytest.param("In Australia call 1300 655 506", True, id="australia-1300"),
    pytest.param("In India call 1800-180-1551", True, id="india-1800"),
    pytest.param(
        "\u30d5\u30ea\u30fc\u30c0\u30a4\u30e4\u30eb\uff1a0120-999-373\u3078",
        True,
        id="twcs-japan-0120",
    ),
    pytest.param("Call 18002752273", True, id="toll-free-unseparated"),
    pytest.param("Call +44 (0)20 7946 0018", True, id="intl-trunk-zero"),
    pytest.param("Tel:+61 2 9374 4000", True, id="intl-au"),
    pytest.param("The number is +1(818)930-5703", True, id="intl-glued-parens"),
    pytest.param("Please call 866-216-1072 and keep us updated ^SP", True, id="twcs-866"),
    pytest.param("Financial Services group at 888-780-3962. ^RMD", True, id="twcs-888"),
    pytest.param("Call 0800-123-4567", True, id="uk-dashes"),
]
PHONE_NEGATIVE = [
    pytest.param("Your order #112-7654321-1234567 has shipped.", False, id="amazon-order"),
    pytest.param("Order 40213344 is on its way.", False, id="order-number"),
    pytest.param("Reference number is 16934380.", False, id="reference"),
    pytest.param("PayPal case ID is PP-006-234-348-863", False, id="case-id"),
    pytest.param("Scheduled for 2017-10-31", False, id="iso-date"),
    pytest.param("Booked for 31/10/2017", False, id="uk-date"),
    pytest.param("Your flight departs at 10:30", False, id="time"),
    pytest.param("We're open 9am-5pm", False, id="hours"),
    pytest.param("That's $1,299.00 plus tax", False, id="usd-price"),
    pytest.param("A refund of \u00a345.50 was issued", False, id="gbp-price"),
    pytest.param("Flight BA 286 to San Francisco", False, id="flight"),
    pytest.param("Tracking 1Z999AA10123456784", False, id="ups-tracking"),
    pytest.param("USPS tracking 9400 1000 0000 0000 0000 00", False, id="usps-tracking"),
    pytest.param("Between 2017 and 2018", False, id="years"),
    pytest.param("Version 1.0.68.407", False, id="version"),
    pytest.param("Router at 192.168.100.254", False, id="ip"),
    pytest.param("@Delta 0062395415777", False, id="twcs-ticket-13-digits"),
    pytest.param("Ref: 01234567890", False, id="ref-11-digits"),
    pytest.param("Your booking reference 0123 456 7890", False, id="booking-reference-spaced"),
    pytest.param("Open 09:00-17:00 Saturday", False, id="time-range"),
    pytest.param("Price 1,800.00", False, id="price-1800"),
    pytest.param("Call between 0800 and 2000", False, id="24h-times"),
    pytest.param("+1 for this!", False, id="plus-one"),
    pytest.param("Serial C02XK0ABJGH5", False, id="serial"),
    pytest.param("Sales report for 10/1-10/7", False, id="date-range"),
    pytest.param("DPCI 030-02-8711 is out of stock", False, id="target-dpci"),
    pytest.param("Order# 3632693-6196346", False, id="order-hash"),
    pytest.param("", False, id="empty"),
]

# ----------------------------------------------------------------------------------- email

EMAIL_CASES = [
    pytest.param("help@brand.com", True, id="plain"),
    pytest.param("Email care.team@brand.co.uk", True, id="dotted-uk"),
    pytest.param("Contact customer.relations@britishairways.com", True, id="ba"),
    pytest.param("Write to us at Support@Example.ORG.", True, id="mixed-case"),
    pytest.param("(jane_doe+tag@mail.example.com)", True, id="plus-tag"),
    pytest.param("__email__", True, id="twcs-token"),
    pytest.param("My email address is __email__", True, id="twcs-token-in-text"),
    pytest.param("send to feedback@tesco.co.uk, thanks", True, id="tesco"),
    pytest.param("email:help@uber.com", True, id="glued"),
    pytest.param("first.last@sub.domain.io", True, id="subdomain"),
    pytest.param("x@y.co", True, id="short"),
    pytest.param("Emails: a@b.com; c@d.com", True, id="two"),
    pytest.param("reach us at social-care@bank-name.com", True, id="hyphens"),
    pytest.param("contact privacy@spotify.com ^JK", True, id="spotify"),
    pytest.param("user123@gmail.com", True, id="digits"),
    pytest.param("noreply@amazon.co.jp", True, id="jp"),
    pytest.param("e-mail: info@airasia.com", True, id="airasia"),
    pytest.param("Send your CV to jobs@company.com!", True, id="exclaim"),
    pytest.param("abc@xyz.travel", True, id="long-tld"),
    pytest.param("at 'support@acme.com'.", True, id="quoted"),
    pytest.param("<help@brand.com>", True, id="angle"),
    pytest.param("Email US: HELP@BRAND.COM", True, id="upper"),
    pytest.param("CC cx@delta.com please", True, id="delta"),
    pytest.param("mailto:help@brand.com", True, id="mailto"),
    pytest.param("Contact: \u00e9lise.martin@orange.fr", True, id="non-ascii-before"),
]
EMAIL_NEGATIVE = [
    pytest.param("@AmazonHelp thanks", False, id="handle"),
    pytest.param("Hi @115712, we're sorry", False, id="twcs-id-handle"),
    pytest.param("@British_Airways please help", False, id="underscore-handle"),
    pytest.param("Tweet us @AskPlayStation", False, id="tweet-us"),
    pytest.param("See you at the airport @ 5pm", False, id="at-sign"),
    pytest.param("email us", False, id="no-address"),
    pytest.param("Please check your email.", False, id="check-email"),
    pytest.param("Follow @brand.com for news", False, id="handle-with-dot"),
    pytest.param("user@localhost", False, id="no-tld"),
    pytest.param("help at brand dot com", False, id="spelled-out"),
    pytest.param("__credit_card__", False, id="twcs-other-token"),
    pytest.param("Order @ 10:30", False, id="order-at"),
    pytest.param("me@", False, id="dangling"),
    pytest.param("@sprintcare is the worst customer service", False, id="twcs-complaint"),
    pytest.param("Thanks@AmazonHelp", False, id="glued-handle"),
    pytest.param("5@ $3 each", False, id="price"),
    pytest.param("https://t.co/abc", False, id="link"),
    pytest.param("Call 0800 123 4567", False, id="phone"),
    pytest.param("a @ b.com", False, id="spaced"),
    pytest.param("email address required", False, id="words"),
    pytest.param("@115712 @115713 hi", False, id="two-handles"),
    pytest.param(".@Delta you lost my bag", False, id="dot-handle"),
    pytest.param("RT @SpotifyCares: new update", False, id="retweet"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="none"),
]

# -------------------------------------------------------------------------------- ack_only

ACK_CASES = [
    pytest.param("We're sorry to hear that.", True, id="sorry-to-hear"),
    pytest.param("Thanks for reaching out!", True, id="thanks-for-reaching-out"),
    pytest.param("We hear you and understand your frustration.", True, id="hear-you"),
    pytest.param("Apologies for the inconvenience ^JK", True, id="apologies-signature"),
    pytest.param("@115906 We're sorry for your frustration.", True, id="twcs-aa"),
    pytest.param(
        "@116033 Sorry to hear this process was so frustrating. ^N", True, id="twcs-virgin-atlantic"
    ),
    pytest.param("@116212 We understand. ^JAY", True, id="twcs-verizon"),
    pytest.param("@116478 You're welcome. ^RR", True, id="youre-welcome"),
    pytest.param("@115827 Thanks for your patience. ^KM", True, id="twcs-amazon-patience"),
    pytest.param(
        "Hi Sarah, we're sorry to hear this. \U0001f614 -Sam", True, id="greeting-emoji-signature"
    ),
    pytest.param("That's not what we like to hear. *TMT", True, id="not-what-we-like"),
    pytest.param("Oh no! So sorry about that. -Becky", True, id="oh-no"),
    pytest.param("Our sincere apologies for the delay. ^Oliver", True, id="sincere-apologies"),
    pytest.param("We truly apologise for any inconvenience caused. ^Rach", True, id="uk-apologise"),
    pytest.param("I completely understand your frustration, Andy ^CB", True, id="vocative-name"),
    pytest.param("Thank you for your feedback. ^bc", True, id="feedback"),
    pytest.param("We appreciate your patience!", True, id="appreciate"),
    pytest.param("That doesn't sound good at all. \U0001f61f", True, id="doesnt-sound-good"),
    pytest.param("Happy to help! \U0001f60a", True, id="happy-to-help"),
    pytest.param("Glad to hear it's sorted! Have a great day. ^TL", True, id="glad-sorted"),
    pytest.param("Thanks for letting us know, Rachael! ^BA", True, id="letting-us-know"),
    pytest.param("Sorry for the wait! *HCK", True, id="sorry-wait"),
    pytest.param("We hate to hear that. -Sara", True, id="hate-to-hear"),
    pytest.param("My apologies for any frustration. -Becky", True, id="my-apologies"),
    pytest.param("Cheers! ^LB", True, id="cheers"),
    pytest.param("So sorry to disappoint. :-( *TAC", True, id="emoticon"),
    pytest.param("Thanks for flying with us! -Tara", True, id="flying"),
    pytest.param("We can imagine how frustrating that must be.", True, id="imagine"),
    pytest.param("Yikes! That's not the experience we want you to have. -KC", True, id="yikes"),
    pytest.param("I\u2019m sorry for the trouble! ^FR", True, id="curly-apostrophe"),
    pytest.param("Hello, Ismail. Thank you for sharing.  *AFM", True, id="twcs-delta-hello"),
    pytest.param("Please accept our apologies. ^MB", True, id="please-accept"),
    pytest.param(
        "Sorry to hear that. Let us know if you need anything else.",
        True,
        id="generic-offer-of-help",
    ),
    pytest.param(
        "You're welcome! Feel free to reach out should you have any other questions.",
        True,
        id="feel-free-should-you",
    ),
    pytest.param(
        "If you have any questions in the future please let us know. ^RR", True, id="offer-reversed"
    ),
    pytest.param("Thanks, Jo. We'll be here whenever you need us!", True, id="well-be-here"),
    pytest.param(
        "Great flights and views! #MostWestCoast #BetterTogether -Tara", True, id="hashtags"
    ),
    pytest.param("\U0001f35f", True, id="emoji-only"),
]
ACK_NEGATIVE = [
    pytest.param("Sorry about that! Please try restarting the app.", False, id="instruction"),
    pytest.param("Sorry! Can you tell us more?", False, id="question"),
    pytest.param("So sorry, DM us", False, id="dm"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="none"),
    pytest.param("We're sorry to hear that. More here: https://t.co/abc", False, id="link"),
    pytest.param("Sorry for the trouble. Call us on 0800 123 4567. ^JK", False, id="phone"),
    pytest.param("Thanks! Email help@brand.com with your details.", False, id="email"),
    pytest.param(
        "Sorry to hear this. Which iOS version are you running?", False, id="follow-up-question"
    ),
    pytest.param("We apologize. Your refund has been processed. *TAC", False, id="answer"),
    pytest.param("Sorry, that item is out of stock.", False, id="stock-answer"),
    pytest.param("We're sorry, but we don't ship to Canada.", False, id="but"),
    pytest.param(
        "Thanks for the feedback, we'll pass it on to the team.", False, id="action-pass-on"
    ),
    pytest.param("We're aware of the issue and sorry for the trouble.", False, id="aware"),
    pytest.param(
        "Sorry for the delay. Your flight is estimated to depart at 5:45 pm.",
        False,
        id="flight-estimate",
    ),
    pytest.param(
        "Thanks for reaching out! You can change this under Settings > Privacy.",
        False,
        id="you-can",
    ),
    pytest.param(
        "Sorry to hear that. Let us know which iOS version you're on.",
        False,
        id="let-us-know-which",
    ),
    pytest.param("Sorry! Let us know if restarting helps.", False, id="let-us-know-if-it-helps"),
    pytest.param(
        "Sorry! Let us know if you haven't received it within 48 hours. ^EB",
        False,
        id="let-us-know-if-you-havent",
    ),
    pytest.param("We're sorry. Our engineers are working on a fix.", False, id="status"),
    pytest.param("Apologies - the store closes at 9pm on Sundays.", False, id="opening-hours"),
    pytest.param(
        "Unfortunately we are not able to assist with this request. *TLT", False, id="refusal"
    ),
    pytest.param("Sorry for the late response. 1/2", False, id="thread-continues"),
    pytest.param("Sorry! Try clearing your cache.", False, id="try"),
    pytest.param(
        "Thanks! Follow the steps here and let us know how it goes.", False, id="follow-steps"
    ),
    pytest.param(
        "We do apologize for the inconvenience and hope to have it restored soon as we can.",
        False,
        id="twcs-cox-restore",
    ),
    pytest.param(
        "It's good for any main menu item \u2013 you don't have to order a burrito!",
        False,
        id="twcs-chipotle-answer",
    ),
    pytest.param("Hello, could you confirm your postcode? ^JK", False, id="greeting-question"),
    pytest.param("Please restart your router.", False, id="no-ack"),
    pytest.param("Sorry. We welcome all families on board.", False, id="capitalised-we"),
]

# --------------------------------------------------------------------- confirms_resolution

RESOLVED_CASES = [
    pytest.param("Thanks, it's fixed now!", True, id="fixed-now"),
    pytest.param("All sorted, cheers @Tesco", True, id="all-sorted"),
    pytest.param("Works now, thank you!", True, id="works-now"),
    pytest.param("@SouthwestAir Its working again", True, id="twcs-working-again"),
    pytest.param("Resolved, thanks for your help.", True, id="resolved"),
    pytest.param("@AdobeCare Solved this via phone support", True, id="twcs-solved"),
    pytest.param("All good now \U0001f44d", True, id="all-good-now"),
    pytest.param("That did the trick, thanks!", True, id="did-the-trick"),
    pytest.param(
        "I hard restarted my system. That worked. Thank you!", True, id="twcs-that-worked"
    ),
    pytest.param("Problem gone after the update.", True, id="problem-gone"),
    pytest.param("We're back up and running, thanks @comcastcares", True, id="up-and-running"),
    pytest.param("@comcastcares Already fixed! Thank you!", True, id="twcs-already-fixed"),
    pytest.param("@AppleSupport It\u2019s sorted. Thanks.", True, id="twcs-curly"),
    pytest.param("@AppleSupport That fixed it thanks", True, id="twcs-that-fixed-it"),
    pytest.param("Seems like my problem has been resolved", True, id="twcs-has-been-resolved"),
    pytest.param("Got it working, thanks for the help!", True, id="got-it-working"),
    pytest.param("Everything is working fine now.", True, id="everything-working"),
    pytest.param("Thanks, the app works perfectly now", True, id="works-perfectly"),
    pytest.param("Internet's back online, cheers Virgin Media", True, id="back-online"),
    pytest.param("@AppleSupport Worked \U0001f44c\U0001f3fd", True, id="twcs-worked"),
    pytest.param("I restarted it and it worked!", True, id="it-worked"),
    pytest.param("Issue resolved, many thanks BA", True, id="issue-resolved"),
    pytest.param("Fixed it myself, no thanks to you", True, id="fixed-myself"),
    pytest.param("Sorted now, ta", True, id="sorted-now"),
    pytest.param("Thanks Delta, that did it!", True, id="that-did-it"),
    pytest.param("My package just got here. All good, thank you!", True, id="twcs-all-good"),
    pytest.param("No more issues now, thanks!", True, id="no-more-issues"),
    pytest.param("Not sure how, but it works now", True, id="not-sure-how-but-works"),
    pytest.param(
        "@AppleSupport Restarting does resolve the issue. Thanks.", True, id="twcs-does-resolve"
    ),
    pytest.param(
        "\u554f\u984c\u89e3\u6c7a\u3057\u307e\u3057\u305f\uff01", True, id="japanese-solved"
    ),
]
RESOLVED_NEGATIVE = [
    pytest.param("still not fixed", False, id="still-not-fixed"),
    pytest.param("not working now", False, id="not-working-now"),
    pytest.param("this isn't resolved", False, id="isnt-resolved"),
    pytest.param("it was working now it's not", False, id="was-working"),
    pytest.param("thanks for nothing", False, id="thanks-for-nothing"),
    pytest.param("thanks", False, id="plain-thanks"),
    pytest.param("Is it fixed?", False, id="question"),
    pytest.param("When will it be fixed?", False, id="when-question"),
    pytest.param("I need this fixed ASAP", False, id="need-fixed"),
    pytest.param("Please get this sorted", False, id="request"),
    pytest.param("Won't renew prime if this isn't fixed.", False, id="twcs-conditional"),
    pytest.param("I'm hoping everything is sorted", False, id="hoping"),
    pytest.param("I will continue to tweet and call until it's fixed.", False, id="twcs-until"),
    pytest.param("It needs to be fixed. Permanently. Now.", False, id="twcs-needs"),
    pytest.param("Still having the same problem", False, id="still-having"),
    pytest.param("It stopped working again", False, id="stopped-working"),
    pytest.param("They said it was fixed but now it's broken again", False, id="regression"),
    pytest.param("Has this been resolved yet?", False, id="resolved-question"),
    pytest.param("Fixed price plans only", False, id="fixed-price"),
    pytest.param("The outage is expected to be resolved by 6pm", False, id="expected"),
    pytest.param("Doesn't work.", False, id="doesnt-work"),
    pytest.param("Nothing works", False, id="nothing-works"),
    pytest.param("It was working fine until the update", False, id="was-working-fine"),
    pytest.param(
        "you guys fixed something and it broke something else", False, id="twcs-broke-something"
    ),
    pytest.param("hasn't been resolved after 3 calls", False, id="hasnt-been"),
    pytest.param("I think we understand HOW it works", False, id="twcs-how-it-works"),
    pytest.param(
        "T-Mobile So Bs My Internet Stop Working For 3 Hours", False, id="twcs-stop-working"
    ),
    pytest.param("It works only half the time", False, id="half-the-time"),
    pytest.param("can't get it sorted", False, id="cant-get-sorted"),
    pytest.param("Hope it's resolved soon", False, id="hope"),
    pytest.param("Results sorted by date", False, id="sorted-by"),
    pytest.param("All good news, thanks. ETR now 12pm.", False, id="twcs-all-good-news"),
    pytest.param("Please fix it, this update didn't fix the issue", False, id="didnt-fix"),
    pytest.param("", False, id="empty"),
]

CASES = {
    "link": LINK_CASES + LINK_NEGATIVE,
    "dm": DM_CASES + DM_NEGATIVE,
    "phone": PHONE_CASES + PHONE_NEGATIVE,
    "email": EMAIL_CASES + EMAIL_NEGATIVE,
    "ack_only": ACK_CASES + ACK_NEGATIVE,
    "confirms_resolution": RESOLVED_CASES + RESOLVED_NEGATIVE,
}
ALL_TEXTS = [p.values[0] for cases in CASES.values() for p in cases]


def _one(rule: str, text: str | None) -> bool:
    result = getattr(classify, rule)(pd.Series([text], dtype=object))
    return bool(result.iloc[0])


# ------------------------------------------------------------------------- per-rule tables


@pytest.mark.parametrize(("text", "expected"), LINK_CASES + LINK_NEGATIVE)
def test_link(text: str | None, expected: bool) -> None:
    assert _one("link", text) is expected


@pytest.mark.parametrize(("text", "expected"), DM_CASES + DM_NEGATIVE)
def test_dm(text: str | None, expected: bool) -> None:
    assert _one("dm", text) is expected


@pytest.mark.parametrize(("text", "expected"), PHONE_CASES + PHONE_NEGATIVE)
def test_phone(text: str | None, expected: bool) -> None:
    assert _one("phone", text) is expected


@pytest.mark.parametrize(("text", "expected"), EMAIL_CASES + EMAIL_NEGATIVE)
def test_email(text: str | None, expected: bool) -> None:
    assert _one("email", text) is expected


@pytest.mark.parametrize(("text", "expected"), ACK_CASES + ACK_NEGATIVE)
def test_ack_only(text: str | None, expected: bool) -> None:
    assert _one("ack_only", text) is expected


@pytest.mark.parametrize(("text", "expected"), RESOLVED_CASES + RESOLVED_NEGATIVE)
def test_confirms_resolution(text: str | None, expected: bool) -> None:
    assert _one("confirms_resolution", text) is expected


def test_tables_are_big_enough() -> None:
    for rule, cases in CASES.items():
        positives = sum(1 for p in cases if p.values[1])
        assert positives >= 25, rule
        assert len(cases) - positives >= 25, rule


# ------------------------------------------------------------------------ the Series path


def test_series_path_agrees_with_classify_text() -> None:
    singles = [classify.classify_text(text) for text in ALL_TEXTS]
    assert all(list(single) == RULE_NAMES for single in singles)
    for dtype in ("object", "string", "str"):
        texts = pd.Series(ALL_TEXTS, dtype=dtype)
        batch = {rule: getattr(classify, rule)(texts) for rule in RULE_NAMES}
        for i, (text, single) in enumerate(zip(ALL_TEXTS, singles, strict=True)):
            expected = {rule: bool(batch[rule].iloc[i]) for rule in RULE_NAMES}
            assert single == expected, (dtype, text)


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_result_is_bool_series_on_the_input_index(rule: str) -> None:
    texts = pd.Series(
        ["Call 0800 123 4567", None, np.nan, "", "Thanks, sorted now! help@x.com"],
        index=pd.Index([40, 10, 30, 20, 50], name="msg"),
        dtype=object,
    )
    result = getattr(classify, rule)(texts)
    assert result.dtype == bool
    assert result.index.equals(texts.index)
    assert result.name == rule
    assert not result.iloc[1:4].any()  # NA, NaN and "" are plain negatives


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_empty_series(rule: str) -> None:
    result = getattr(classify, rule)(pd.Series([], dtype="str"))
    assert result.empty
    assert result.dtype == bool


def test_order_of_rows_does_not_matter() -> None:
    texts = pd.Series(ALL_TEXTS, dtype="str")
    shuffled = texts.sample(frac=1.0, random_state=3)
    for rule in RULE_NAMES:
        func = getattr(classify, rule)
        pd.testing.assert_series_equal(func(shuffled).sort_index(), func(texts))


# ---------------------------------------------------------------------- patterns and rules


def test_rules_describe_every_function() -> None:
    assert list(classify.RULES) == RULE_NAMES
    for sentence in classify.RULES.values():
        assert sentence.endswith(".")
        assert len(sentence) < 400


@pytest.mark.parametrize("name", sorted(classify.PATTERNS))
def test_patterns_compile_in_re2(name: str) -> None:
    pattern = classify.PATTERNS[name]
    # pyarrow's RE2 kernel accepts the pattern on non-ASCII data
    pc.match_substring_regex(pa.array([" caf\u00e9 \U0001f600 ", None]), pattern)
    # constructs that make pandas fall back to Python's re on non-ASCII text
    for token in (
        "\\Z",
        "\\b",
        "\\B",
        "\\w",
        "\\W",
        "\\d",
        "\\D",
        "\\s",
        "\\S",
        "(?=",
        "(?!",
        "(?<=",
        "(?<!",
    ):
        assert token not in pattern, (name, token)
    assert not pattern.endswith("$"), name


def test_no_fallback_to_python_re(monkeypatch: pytest.MonkeyPatch) -> None:
    object_array = pytest.importorskip("pandas.core.strings.object_array")
    mixin = getattr(object_array, "ObjectStringArrayMixin", None)
    if mixin is None:
        pytest.skip("pandas internals changed: ObjectStringArrayMixin not found")

    def python_re(*args: object, **kwargs: object) -> None:
        raise AssertionError("a classify pattern fell back to Python's re")

    for method in ("_str_contains", "_str_replace", "_str_match", "_str_fullmatch"):
        monkeypatch.setattr(mixin, method, python_re)
    texts = pd.Series([t for t in ALL_TEXTS if t] + ["Caf\u00e9 \U0001f600\nline two"], dtype="str")
    for rule in RULE_NAMES:
        getattr(classify, rule)(texts)


# --------------------------------------------------------------------- real-data sanity


def test_sanity_on_customer_support_on_twitter_sample() -> None:
    external = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"
    path = external / "twcs_head5000" / "twcs_head5000.csv"
    if not path.exists():
        pytest.skip(f"external data not present: {path} (sanity check needs the TWCS sample)")
    frame = pd.read_csv(path, lineterminator="\n", index_col=0)
    brand = frame.loc[~frame["inbound"].astype(bool), "text"]
    customer = frame.loc[frame["inbound"].astype(bool), "text"]
    assert len(brand) > 1000

    shares = {rule: getattr(classify, rule)(brand).mean() for rule in RULE_NAMES}
    assert 0.05 <= shares["link"] <= 0.6, shares
    assert 0.05 <= shares["dm"] <= 0.5, shares
    assert 0.0 < shares["phone"] <= 0.1, shares
    assert shares["email"] <= 0.05, shares
    assert 0.005 <= shares["ack_only"] <= 0.3, shares
    assert shares["confirms_resolution"] <= 0.05, shares
    # brands ask for DMs far more often than customers offer them
    assert classify.dm(customer).mean() < shares["dm"] / 2
    resolved = classify.confirms_resolution(customer).mean()
    assert 0.001 <= resolved <= 0.1, resolved


def test_every_pattern_is_also_valid_python_regex():
    classify.check_patterns()
