"""The payment codes as pure functions: published payloads rebuilt byte for byte (CRC included),
read back, every length and character rule enforced, and parse∘build the identity."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import Money
from payments.paycodes import emv, paynow, pix, upi
from payments.paycodes.model import PayCode, Unreadable, plain
from payments.paycodes.reader import looks_like_code, read

# Banco Central do Brasil, "Manual de Padrões para Iniciação do Pix", the static BR Code example
# (random key, no amount); CRC 1D3D.
BCB_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
# Angmar2722/PayNowQRSwift, Tests/PayNowQRSwiftTests (testExample): UEN 201101550Z, S$50.00 not
# editable, expiring 27 Nov 2020, reference AJ; CRC 88E9.
PAYNOW_UEN = (
    "00020101021226490009SG.PAYNOW010120210201101550Z03010040820201127520400005303702540550.00"
    "5802SG5907Qryptal6009Singapore62060102AJ630488E9"
)
# Angmar2722/PayNowQRSwift, README (demo2): mobile +6512345678, S$10.27 editable, reference
# "Mr. Lee Bill"; CRC BD9B.
PAYNOW_MOBILE = (
    "00020101021226380009SG.PAYNOW010100211+651234567803011520400005303702540510.275802SG"
    "5908John Lee6009Singapore62160112Mr. Lee Bill6304BD9B"
)
# daffodilistic/pyPayNowSg, tests/test_payload.py (TEST_CODE_1): a static code of a UEN with a
# unit suffix, no amount; CRC DF3F.
PAYNOW_STATIC = (
    "00020101021126400009SG.PAYNOW010120213200002150HWCF030115204000053037025802SG"
    "5923NATIONAL HEALTHCARE GRO6009Singapore6304DF3F"
)
# Meta's WhatsApp Business Platform docs, Payments API India, UPI-Intent mode: the example link
# (shared/reference/payments-anchors.md §1.5).
UPI_EXAMPLE = (
    "upi://pay?pa=cfsukoonaa@yesbank&pn=Sukoon&tr=877376394&am=10.00&cu=INR&mode=00&purpose=00"
    "&mc=5399&tn=877376394"
)


def test_crc_is_ccitt_false() -> None:
    # The CRC catalogue's check value for CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740).
    assert emv.crc16(b"123456789") == 0x29B1


def test_pix_rebuilds_the_central_bank_example() -> None:
    built = pix.build("123e4567-e12b-12d1-a456-426655440000", "Fulano de Tal", "BRASILIA")
    assert built == BCB_EXAMPLE
    assert read(built) == PayCode(
        "pix",
        "123e4567-e12b-12d1-a456-426655440000",
        "Fulano de Tal",
        None,
        "",
        city="BRASILIA",
        editable=True,
    )


def test_paynow_rebuilds_published_payloads() -> None:
    uen = paynow.build(
        "uen", "201101550Z", "Qryptal", Money(5000, "SGD"), "AJ", date(2020, 11, 27)
    )
    assert uen == PAYNOW_UEN
    mobile = paynow.build(
        "mobile", "+6512345678", "John Lee", Money(1027, "SGD"), "Mr. Lee Bill", editable=True
    )
    assert mobile == PAYNOW_MOBILE
    static = paynow.build(
        "uen", "200002150HWCF", "NATIONAL HEALTHCARE GRO", None, editable=True, single_use=False
    )
    assert static == PAYNOW_STATIC
    code = read(PAYNOW_UEN)
    assert isinstance(code, PayCode)
    assert (code.payee, code.amount, code.editable, code.expires, code.reference) == (
        "201101550Z",
        Money(5000, "SGD"),
        False,
        date(2020, 11, 27),
        "AJ",
    )


def test_upi_reads_the_published_intent_and_builds_it_back() -> None:
    code = read(UPI_EXAMPLE)
    assert code == PayCode(
        "upi", "cfsukoonaa@yesbank", "Sukoon", Money(1000, "INR"), "877376394", note="877376394"
    )
    built = upi.build(
        "cfsukoonaa@yesbank", "Sukoon", Money(1000, "INR"), "877376394", "877376394", "5399"
    )
    assert built == (
        "upi://pay?pa=cfsukoonaa@yesbank&pn=Sukoon&mc=5399&tr=877376394&tn=877376394&am=10.00"
        "&cu=INR"
    )
    assert read(built) == code


# NPCI, "UPI Linking Specifications" 1.6, §2 Implementation Samples (hyperlink and QR code).
NPCI_EXAMPLE = (
    "upi://pay?pa=nadeem@npci&pn=nadeem%20chinna&mc=0000&tid=cxnkjcnkjdfdvjndkjfvn"
    "&tr=4894398cndhcd23&tn=Pay%20to%20mystar%20store&am=10&mam=null&cu=INR"
    "&url=https://mystar.com/orderid=9298yw89e8973e87389e78923ue892"
)


def test_upi_reads_npci_s_own_sample() -> None:
    assert read(NPCI_EXAMPLE) == PayCode(
        "upi",
        "nadeem@npci",
        "nadeem chinna",
        Money(1000, "INR"),
        "4894398cndhcd23",
        note="Pay to mystar store",
    )


def test_upi_values_are_percent_encoded() -> None:
    built = upi.build("dosa.corner@oksbi", "Dosa & Co", Money(25050, "INR"), "PR-1", "2 dosa=ok")
    assert "pn=Dosa%20%26%20Co" in built
    assert "tn=2%20dosa%3Dok" in built
    assert "am=250.50" in built
    code = read(built)
    assert isinstance(code, PayCode)
    assert (code.name, code.note) == ("Dosa & Co", "2 dosa=ok")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (BCB_EXAMPLE[:-4] + "1D3E", "bad_crc"),
        (BCB_EXAMPLE.replace("Fulano", "Fulana"), "bad_crc"),  # a changed byte
        (PAYNOW_UEN.replace("540550.00", "540551.00"), "bad_crc"),
        (BCB_EXAMPLE[:-8], "malformed"),  # cut before its CRC
        ("0002010102", "malformed"),
        ("hello", "not_a_code"),
        ("upi://collect?pa=a@b", "malformed"),
        ("upi://pay?pa=a@oksbi&pn=A&pa=b@oksbi", "malformed"),
        ("upi://pay?pa=not-a-vpa&pn=A", "invalid"),
        ("upi://pay?pa=ab@oksbi&pn=A&am=1.005", "invalid"),
        ("upi://pay?pa=ab@oksbi&pn=A&am=-1", "invalid"),
        # decoded values are ASCII and whole: no Arabic-Indic amount (٢٥٠), no trailing newline
        ("upi://pay?pa=ab@oksbi&pn=A&am=%D9%A2%D9%A5%D9%A0", "invalid"),
        ("upi://pay?pa=ab@oksbi&pn=A&am=250.00%0A", "invalid"),
        ("upi://pay?pa=ab@oksbi%0A&pn=A&am=250.00", "invalid"),
        ("upi://pay?pa=ab@oksbi&pn=A&tr=PR-1%0A", "invalid"),
        ("upi://pay?pa=ab@oksbi&pn=A%0A&am=1", "invalid"),
        ("upi://pay?pa=ab@oksbi&pn=A&am=10&cu=USD", "invalid"),
        ("upi://pay?pa=ab@oksbi&pn=A&tr=" + "x" * 36, "invalid"),
        # PromptPay (Thailand): an EMV code, but not one of these markets' schemes.
        (
            emv.close(
                "000201010211"
                + emv.template("29", [("00", "A000000677010111"), ("01", "0066812345678")])
                + "5303764"
                + "5802TH"
            ),
            "unsupported",
        ),
    ],
)
def test_bad_codes_are_refused_with_a_reason(payload: str, reason: str) -> None:
    found = read(payload)
    assert isinstance(found, Unreadable), found
    assert found.reason == reason, found.detail


def _pix_with(**fields: str) -> str:
    """A BR Code with top-level fields replaced, its CRC made right again."""
    top = dict(emv.read(BCB_EXAMPLE))  # type: ignore[arg-type]
    top.update(fields)
    top.pop("63")
    return emv.close("".join(emv.field(t, v) for t, v in top.items()))


@pytest.mark.parametrize(
    "fields",
    [
        {"59": "N" * 26},  # name over 25
        {"60": "C" * 16},  # city over 15
        {"53": "840"},  # dollars
        {"58": "US"},
        {"54": "10,00"},
        {"54": "1.001"},
        {"54": "0.00"},
        {"62": emv.field("05", "PR-ABC")},  # a dash in a txid
        {"62": emv.field("05", "A" * 26)},
    ],
)
def test_pix_field_rules_hold_when_reading(fields: dict[str, str]) -> None:
    found = read(_pix_with(**fields))
    assert isinstance(found, Unreadable), found
    assert found.reason == "invalid", found


@pytest.mark.parametrize(
    ("kwargs", "field_id"),
    [
        ({"name": "N" * 26}, "59"),
        ({"city": "C" * 16}, "60"),
        ({"name": "São Paulo Ltda"}, "59"),  # not ASCII: plain() first
        ({"key": "12345"}, "26/01"),
        ({"txid": "PR-1"}, "62/05"),
        ({"txid": "A" * 26}, "62/05"),
        ({"amount": Money(100, "INR")}, "amount"),
        ({"amount": Money(0, "BRL")}, "amount"),
        ({"amount": Money(10**13, "BRL")}, "54"),
    ],
)
def test_pix_builder_refuses_what_breaks_a_rule(kwargs: dict[str, object], field_id: str) -> None:
    args: dict[str, object] = {"key": "+5511987654321", "name": "Loja", "city": "Sao Paulo"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=field_id):
        pix.build(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field_id"),
    [
        ({"proxy": "+6591234"}, "26/02"),
        ({"proxy": "+6012345678"}, "26/02"),
        ({"proxy_type": "uen", "proxy": "201101550A"}, "26/02"),  # wrong check letter
        ({"name": "N" * 26}, "59"),
        ({"reference": "R" * 26}, "62/01"),
        ({"amount": None}, "54"),
        ({"amount": Money(100, "BRL")}, "amount"),
    ],
)
def test_paynow_builder_refuses_what_breaks_a_rule(
    kwargs: dict[str, object], field_id: str
) -> None:
    args: dict[str, object] = {
        "proxy_type": "mobile",
        "proxy": "+6591234567",
        "name": "Kopi",
        "amount": Money(450, "SGD"),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=field_id):
        paynow.build(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"vpa": "ravi"}, "pa"),
        ({"name": ""}, "pn"),
        ({"reference": "PR 1"}, "tr"),
        ({"note": "n" * 51}, "tn"),
        ({"mcc": "53"}, "mc"),
        ({"amount": Money(5, "SGD")}, "amount"),
    ],
)
def test_upi_builder_refuses_what_breaks_a_rule(kwargs: dict[str, object], name: str) -> None:
    args: dict[str, object] = {"vpa": "ravi@okicici", "name": "Ravi", "amount": Money(100, "INR")}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        upi.build(**args)  # type: ignore[arg-type]


def test_emv_field_rules() -> None:
    with pytest.raises(ValueError, match="1-99"):
        emv.field("59", "x" * 100)
    with pytest.raises(ValueError, match="1-99"):
        emv.field("59", "")
    with pytest.raises(ValueError, match="ASCII"):
        emv.field("59", "Zoë")
    with pytest.raises(ValueError, match="two digits"):
        emv.field("5", "x")


def test_plain_fits_names_and_cities() -> None:
    assert plain("São  Paulo", 15) == "Sao Paulo"
    assert plain("Padaria Pão de Açúcar Ltda ME", 25) == "Padaria Pao de Acucar Ltd"
    assert plain("☕ Kopi", 25) == "Kopi"


def test_what_looks_like_a_code() -> None:
    assert looks_like_code(BCB_EXAMPLE)
    assert looks_like_code(" UPI://pay?pa=x@y ")
    assert not looks_like_code("2580")
    assert not looks_like_code("hello")


# -- the merchant account template, wherever the code's maker put it ----------------------------
# EMVCo gives payment schemes ids 26-51 and a scheme's template is known by the GUI in its 00, not
# by its id: an SGQR carries PayNow beside NETS, GrabPay and others, and Brazilian apps do not all
# put Pix at 26. Other schemes' templates as such codes carry them (their fields made up):
NETS = emv.template("26", [("00", "SG.COM.NETS"), ("01", "23020000000000000001"), ("99", "2A")])
GRAB = emv.template("27", [("00", "COM.GRAB"), ("01", "A93FO3230Q")])
SGQR_ID = emv.template("51", [("00", "SG.SGQR"), ("01", "200103000000ABC"), ("02", "01.0001")])


def _rebuilt(payload: str, account_at: str, *others: str, gui: str = "") -> str:
    """`payload` with its merchant account template (26) moved to `account_at` (its GUI written
    as `gui` when given) and `others` (whole fields) beside it, in id order, CRC made right."""
    top = dict(emv.read(payload))  # type: ignore[arg-type]
    account = dict(emv.fields(top.pop("26")))  # type: ignore[arg-type]
    account["00"] = gui or account["00"]
    top.pop("63")
    written = {t: emv.field(t, v) for t, v in top.items()}
    written[account_at] = emv.template(account_at, list(account.items()))
    written |= {other[:2]: other for other in others}
    return emv.close("".join(written[t] for t in sorted(written)))


def test_a_pix_key_in_27_with_another_scheme_in_26_is_read() -> None:
    other = emv.template("26", [("00", "br.com.outrobanco"), ("01", "loja-123")])
    moved = _rebuilt(BCB_EXAMPLE, "27", other)
    top = emv.read(moved)
    assert isinstance(top, list)
    assert [(t, v[:18]) for t, v in top if emv.is_account(t)] == [
        ("26", "0017br.com.outroba"),
        ("27", "0014br.gov.bcb.pix"),
    ]
    assert read(moved) == read(BCB_EXAMPLE)


def test_an_sgqr_with_paynow_in_33_among_other_schemes_is_read() -> None:
    sgqr = _rebuilt(PAYNOW_UEN, "33", NETS, GRAB, SGQR_ID)
    top = emv.read(sgqr)
    assert isinstance(top, list)
    assert [t for t, _ in top if emv.is_account(t)] == ["26", "27", "33", "51"]
    assert read(sgqr) == read(PAYNOW_UEN)
    lower = _rebuilt(PAYNOW_MOBILE, "33", NETS, SGQR_ID, gui="sg.paynow")  # any case, per EMVCo
    assert read(lower) == read(PAYNOW_MOBILE)


@pytest.mark.parametrize("tag", [f"{n}" for n in range(26, 52)])
def test_either_scheme_s_template_is_read_from_any_id_from_26_to_51(tag: str) -> None:
    assert read(_rebuilt(BCB_EXAMPLE, tag)) == read(BCB_EXAMPLE)
    assert read(_rebuilt(PAYNOW_STATIC, tag)) == read(PAYNOW_STATIC)


def test_a_code_whose_gui_is_in_no_template_is_refused_as_unsupported() -> None:
    # an SGQR of NETS and GrabPay only: a valid code, no account PayChat can pay
    nets_only = emv.close(
        "000201010211"
        + NETS
        + GRAB
        + "".join(emv.field(t, v) for t, v in (("52", "0000"), ("53", "702"), ("58", "SG")))
        + "".join(emv.field(t, v) for t, v in (("59", "Shop"), ("60", "Singapore")))
        + SGQR_ID
    )
    assert read(nets_only) == Unreadable("unsupported", "no Pix or PayNow account template")
    # each parser says which GUI it looked for, and where
    sgqr = emv.read(_rebuilt(PAYNOW_UEN, "33", NETS, GRAB, SGQR_ID))
    assert isinstance(sgqr, list)
    without = [(t, v) for t, v in sgqr if t != "33"]
    for parse, gui in ((pix.parse, pix.GUI), (paynow.parse, paynow.GUI)):
        assert parse(without) == Unreadable("unsupported", f"no template in 26-51 carries {gui}")
    # the GUI outside 26-51 (25 is a primitive id, reserved to card networks) is no account
    outside = emv.close("000201" + emv.template("25", [("00", pix.GUI), ("01", "a@b.co")]))
    assert read(outside) == Unreadable("unsupported", "no Pix or PayNow account template")


def test_two_different_templates_of_one_scheme_are_refused_and_twins_read() -> None:
    mallory = emv.template("27", [("00", pix.GUI), ("01", "mallory@example.com")])
    found = read(_rebuilt(BCB_EXAMPLE, "26", mallory))
    assert found == Unreadable("invalid", f"26 and 27 both carry {pix.GUI} but differ")
    account = dict(emv.read(BCB_EXAMPLE))["26"]  # type: ignore[arg-type]
    twin = emv.field("27", account.replace(pix.GUI, pix.GUI.upper()))  # the same account
    assert read(_rebuilt(BCB_EXAMPLE, "26", twin)) == read(BCB_EXAMPLE)


def test_a_broken_template_or_rule_is_named_by_its_own_id() -> None:
    proxy_type_7 = emv.template(
        "33", [("00", paynow.GUI), ("01", "7"), ("02", "201101550Z"), ("03", "0")]
    )
    found = read(_rebuilt(PAYNOW_UEN, "33", NETS, proxy_type_7))
    assert found == Unreadable("invalid", "33/01-02: not a mobile (+65) or UEN proxy")
    not_tlv = emv.field("26", "not a template")
    found = read(_rebuilt(BCB_EXAMPLE, "27", not_tlv))
    assert found == Unreadable("malformed", "26: no field header at 0")


# -- round trips ---------------------------------------------------------------------------------
_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=25)
_names = _ascii.filter(lambda s: s == " ".join(s.split()) and s.strip())
_amounts = st.none() | st.integers(min_value=1, max_value=10**12 - 1)
_alnum = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1)
_keys = st.sampled_from(
    [
        "12345678909",
        "11222333000181",
        "+5511987654321",
        "maria@example.com",
        "123e4567-e12b-12d1-a456-426655440000",
    ]
)


@given(
    key=_keys,
    name=_names,
    city=_names.filter(lambda s: len(s) <= 15),
    minor=_amounts,
    txid=_alnum.filter(lambda s: len(s) <= 25),
)
def test_pix_parse_build_round_trip(
    key: str, name: str, city: str, minor: int | None, txid: str
) -> None:
    amount = None if minor is None else Money(minor, "BRL")
    payload = pix.build(key, name, city, amount, txid, single_use=True)
    assert read(payload) == PayCode(
        "pix", key, name, amount, txid, city=city, editable=amount is None
    )
    assert payload == pix.build(key, name, city, amount, txid, single_use=True)


@given(
    mobile=st.integers(min_value=80000000, max_value=99999999),
    name=_names,
    minor=st.integers(min_value=1, max_value=10**12 - 1),
    reference=_ascii.filter(lambda s: s.strip() == s),
    expires=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 31)),
    editable=st.booleans(),
)
def test_paynow_parse_build_round_trip(
    mobile: int, name: str, minor: int, reference: str, expires: date | None, editable: bool
) -> None:
    amount = Money(minor, "SGD")
    payload = paynow.build(
        "mobile", f"+65{mobile}", name, amount, reference, expires, editable=editable
    )
    assert read(payload) == PayCode(
        "paynow",
        f"+65{mobile}",
        name,
        amount,
        reference,
        city="Singapore",
        proxy_type="mobile",
        editable=editable,
        expires=expires,
    )


@given(
    user=st.from_regex(r"[a-z0-9._-]{2,20}", fullmatch=True),
    handle=st.sampled_from(["oksbi", "okicici", "okhdfcbank", "ybl"]),
    name=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=99),
    minor=_amounts,
    reference=st.from_regex(r"[A-Za-z0-9._-]{1,35}", fullmatch=True),
    note=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=50),
)
def test_upi_parse_build_round_trip(
    user: str, handle: str, name: str, minor: int | None, reference: str, note: str
) -> None:
    amount = None if minor is None else Money(minor, "INR")
    payload = upi.build(f"{user}@{handle}", name, amount, reference, note)
    assert " " not in payload
    assert read(payload) == PayCode(
        "upi", f"{user}@{handle}", name, amount, reference, editable=amount is None, note=note
    )


@given(st.text(max_size=200))
def test_reading_anything_never_raises(text: str) -> None:
    assert isinstance(read(text), PayCode | Unreadable)


@given(st.integers(min_value=0, max_value=len(BCB_EXAMPLE) - 5), st.sampled_from("0A9z *"))
def test_any_changed_character_is_caught(at: int, char: str) -> None:
    changed = BCB_EXAMPLE[:at] + char + BCB_EXAMPLE[at + 1 :]
    if changed != BCB_EXAMPLE:
        assert isinstance(read(changed), Unreadable)
