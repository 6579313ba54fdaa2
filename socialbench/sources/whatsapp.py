"""WhatsApp Cloud API webhook bodies, one JSON object per line (as a webhook receiver logs them).

Each body is ``{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field",
"value": {"metadata": {"display_phone_number", "phone_number_id"}, "contacts", "messages",
"statuses", "message_echoes"}}]}]}``. Changes of other fields (account updates, templates)
hold no messages and are passed over.

- ``messages[]`` are customer messages: author = ``from`` (the customer's wa_id),
  ``author_is_brand`` False, time = ``timestamp`` (epoch seconds). Text is ``text.body``, the
  caption of media, the title of a button or interactive reply, else "". Events that are not new
  messages (reactions, deletions, edits, system notices, ``request_welcome``) are not rows.
- ``message_echoes[]`` (field ``smb_message_echoes``: messages the business sent from the
  WhatsApp Business app) are brand messages with their text.
- ``statuses[]`` report the business's own outgoing messages (sent with the API, which does not
  echo them). Every message id with a sent, delivered, read or played status is one brand
  message with text "", timed at the earliest status seen for it; a message known only as
  failed was never sent and is not a row. An echo or message with the same id wins.

Customers. A customer is named by their phone number (wa_id: ``from``, an echo's ``to``, a
status's ``recipient_id``), else by their business-scoped user ID (BSUID: ``from_user_id``,
``to_user_id``, ``recipient_user_id``), which Meta sends from 2026 and which is all a webhook
carries for a user with a username whose number is withheld. Where the file pairs a BSUID with
a number (``contacts[]`` ``user_id`` and ``wa_id``, or both on one message or status), the
customer is named by the number throughout, so their chat is one chat. Source: Meta,
"Business-scoped user IDs" (developers.facebook.com/documentation/business-messaging/whatsapp/
business-scoped-user-ids: incoming ``from`` "can be omitted", ``from_user_id`` "set to the
user's BSUID"; statuses ``recipient_id`` "can be omitted", ``recipient_user_id`` always set
but for failed statuses of messages sent to a number).

Brand messages are authored by the business's ``display_phone_number`` (else its
``phone_number_id``); every message of a chat, answered or not, names that business number,
spelled the same way, as its ``account``. Channel "whatsapp", surface "private". One chat per
customer per business number: ``conversation_id`` is ``<phone_number_id>:<customer>``.
A message's ``parent_id`` is the message it quotes (``context.id``) when it quotes one present
in the data, otherwise the chat's earliest message, which opens the chat. The same message id
delivered twice (webhook retries) is one row. An author named in ``--brands`` is a brand.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialbench.errors import InputError
from socialbench.sources import ReadOptions, messages
from socialbench.sources.payloads import (
    RecordError,
    dedupe,
    describe,
    epoch,
    join,
    json_values,
    optional_str,
    report,
    required_str,
    thread_chats,
    to_table,
)

if TYPE_CHECKING:
    import pandas as pd

NAME = "whatsapp"
DESCRIPTION = "WhatsApp Cloud API webhook bodies, one JSON object per line"

CHANNEL = "whatsapp"
NOT_MESSAGES = frozenset({"reaction", "revoke", "edit", "system", "request_welcome"})
SENT = frozenset({"sent", "delivered", "read", "played"})
_MESSAGE_FIELDS = frozenset({"messages", "smb_message_echoes"})
_EXPECTED = (
    'a WhatsApp Cloud API webhook body {"object": "whatsapp_business_account", "entry": [...]}'
)

Row = dict[str, Any]


def sniff(head: str, path: Path) -> bool:
    """The webhook's own markers: "whatsapp_business_account" or "messaging_product"."""
    return '"whatsapp_business_account"' in head or '"messaging_product"' in head


def read(path: Path, options: ReadOptions) -> pd.DataFrame:
    rows: list[Row] = []
    statuses: list[Row] = []
    numbers: dict[str, str] = {}  # BSUID -> the customer's phone number, where the file pairs them
    for line, body in json_values(path, options):
        for record, business, value in _changes(body, path, options, line=line):
            rows += _value_rows(value, business, record, path, options, line=line, sink=statuses)
            numbers.update(_contact_numbers(value))
    rows = dedupe(rows)
    rows += _status_rows(statuses, {row[messages.ID] for row in rows})
    _name_customers(rows, numbers)
    thread_chats(rows)
    for row in rows:
        if row[messages.AUTHOR].lower() in options.brand_handles:
            row[messages.AUTHOR_IS_BRAND] = True
    return to_table(rows)


def _changes(body: Any, path: Path, options: ReadOptions, *, line: int | None):
    """Yield (record path, business, value) for each message-bearing change of a body."""
    is_body = isinstance(body, dict) and body.get("object") == "whatsapp_business_account"
    entries = body.get("entry") if is_body else None
    if not isinstance(entries, list):
        problem = f"expected {_EXPECTED}, found {describe(body)}"
        if line is None:
            raise InputError(path, problem)
        options.bad(path, problem, line=line)
        return
    for i, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for j, change in enumerate(changes if isinstance(changes, list) else []):
            if not isinstance(change, dict) or change.get("field") not in _MESSAGE_FIELDS:
                continue
            record = f"entry[{i}].changes[{j}].value"
            value = change.get("value")
            try:
                business = _business(value)
            except RecordError as exc:
                report(options, path, exc.problem, line=line, record=join(record, exc.field))
                continue
            yield record, business, value


def _business(value: Any) -> dict[str, str]:
    """The business number of a change: {"id": phone_number_id, "author": display number}."""
    if not isinstance(value, dict):
        raise RecordError("", f"expected an object, found {describe(value)}")
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        raise RecordError("metadata", "missing", missing=True)
    phone_id = optional_str(metadata, "phone_number_id")
    display = optional_str(metadata, "display_phone_number")
    if not (phone_id or display):
        raise RecordError("metadata.phone_number_id", "missing", missing=True)
    return {"id": phone_id or display, "author": display or phone_id}


def _value_rows(
    value: dict,
    business: dict[str, str],
    record: str,
    path: Path,
    options: ReadOptions,
    *,
    line: int | None,
    sink: list[Row],
) -> list[Row]:
    """Message and echo rows of one change; status candidates go to ``sink``."""
    readers = (("messages", _message), ("message_echoes", _echo), ("statuses", _status))
    rows = []
    for field, reader in readers:
        items = value.get(field)
        for k, item in enumerate(items if isinstance(items, list) else []):
            try:
                row = reader(item, business)
            except RecordError as exc:
                where = join(f"{record}.{field}[{k}]", exc.field)
                report(options, path, exc.problem, line=line, record=where)
                continue
            if row is not None:
                (sink if field == "statuses" else rows).append(row)
    return rows


def _object(item: Any) -> dict:
    if not isinstance(item, dict):
        raise RecordError("", f"expected an object, found {describe(item)}")
    return item


def _row(
    item: dict, business: dict[str, str], *, customer: tuple[str, str | None], brand: bool
) -> Row:
    """A message row; ``customer`` is (number or BSUID, BSUID or None)."""
    return {
        messages.ID: required_str(item, "id"),
        messages.CREATED_AT: epoch(item, "timestamp"),
        messages.AUTHOR: business["author"] if brand else customer[0],
        messages.AUTHOR_IS_BRAND: brand,
        messages.TEXT: _text(item),
        messages.CHANNEL: CHANNEL,
        messages.SURFACE: messages.PRIVATE,
        messages.ACCOUNT: business["author"],
        "_business": business["id"],
        "_customer": customer,
        "_quoted": _quoted(item),
    }


def _customer(item: dict, number_field: str, bsuid_field: str) -> tuple[str, str | None]:
    """(the customer's phone number, else their BSUID; the BSUID when given)."""
    bsuid = optional_str(item, bsuid_field)
    name = optional_str(item, number_field) or bsuid
    if name is None:
        raise RecordError(number_field, f"missing (and no {bsuid_field})", missing=True)
    return name, bsuid


def _message(item: Any, business: dict[str, str]) -> Row | None:
    item = _object(item)
    if item.get("type") in NOT_MESSAGES:
        return None
    return _row(item, business, customer=_customer(item, "from", "from_user_id"), brand=False)


def _echo(item: Any, business: dict[str, str]) -> Row | None:
    item = _object(item)
    if item.get("type") in NOT_MESSAGES:
        return None
    customer = _customer(item, "to", "to_user_id")
    if customer[0] in (business["id"], business["author"]):
        customer = _customer(item, "from", "from_user_id")
    return _row(item, business, customer=customer, brand=True)


def _status(item: Any, business: dict[str, str]) -> Row | None:
    item = _object(item)
    if item.get("status") not in SENT:
        return None
    customer = _customer(item, "recipient_id", "recipient_user_id")
    row = _row(item, business, customer=customer, brand=True)
    row[messages.TEXT] = ""
    return row


def _contact_numbers(value: dict) -> dict[str, str]:
    """BSUID -> phone number for the ``contacts[]`` of a change that carry both."""
    contacts = value.get("contacts")
    pairs: dict[str, str] = {}
    for contact in contacts if isinstance(contacts, list) else []:
        if isinstance(contact, dict):
            bsuid, number = contact.get("user_id"), contact.get("wa_id")
            if isinstance(bsuid, str) and isinstance(number, str) and bsuid and number:
                pairs[bsuid] = number
    return pairs


def _name_customers(rows: list[Row], numbers: dict[str, str]) -> None:
    """Name each customer by their number where the file pairs their BSUID with one."""
    for row in rows:
        name, bsuid = row["_customer"]
        if bsuid and name != bsuid:
            numbers.setdefault(bsuid, name)
    for row in rows:
        name, bsuid = row["_customer"]
        customer = numbers.get(bsuid, name) if bsuid else name
        if not row[messages.AUTHOR_IS_BRAND]:
            row[messages.AUTHOR] = customer
        row[messages.CONVERSATION_ID] = f"{row['_business']}:{customer}"


def _text(item: dict) -> str:
    kind = item.get("type")
    content = item.get(kind) if isinstance(kind, str) else None
    if not isinstance(content, dict):
        return ""
    if kind == "interactive":
        reply = content.get(content.get("type")) if isinstance(content.get("type"), str) else None
        content = reply if isinstance(reply, dict) else {}
    for key in ("body", "caption", "text", "title"):
        if isinstance(content.get(key), str):
            return content[key]
    return ""


def _quoted(item: dict) -> str | None:
    context = item.get("context")
    quoted = context.get("id") if isinstance(context, dict) else None
    return quoted if isinstance(quoted, str) and quoted != item.get("id") else None


def _status_rows(candidates: list[Row], known: set[str]) -> list[Row]:
    """One brand message per status id not otherwise known, at its earliest status."""
    earliest: dict[str, Row] = {}
    for row in candidates:
        ident = row[messages.ID]
        if ident in known:
            continue
        if ident not in earliest or row[messages.CREATED_AT] < earliest[ident][messages.CREATED_AT]:
            earliest[ident] = row
    return list(earliest.values())
