"""Request and response shapes; these models are the OpenAPI document.

Type-level rules live here (types, enums, ranges); domain rules (ward codes, phone numbers,
skills) live in matcher.ingest and are applied to JSON bodies and import files alike.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from matcher import ingest
from matcher.taxonomy import EDUCATION_CODES, TRADE_CODES

# Code lists come from the engine, so the API, the import files and the docs agree.
TradeCode = Literal[TRADE_CODES]
EducationCode = Literal[EDUCATION_CODES]
Gender = Literal[ingest.GENDERS]
EnrollmentStatus = Literal[ingest.ENROLLMENT_STATUSES]
ReferralStatus = Literal[ingest.REFERRAL_OUTCOMES]
CourseLevel = Literal[ingest.COURSE_LEVELS]
CommitmentState = Literal["open", "full", "expired", "upcoming"]
Role = Literal["caseworker", "enterprise", "planner", "admin"]
#: The longest life a token may be given (two years); the default is TOKEN_LIFETIME_DAYS.
MAX_TOKEN_DAYS = 730


def _char_class(test) -> str:
    """A regex character class body (for JSON Schema, pydantic and Python alike) of the
    code points where ``test`` holds, as ranges.

    Only the Basic Multilingual Plane: a JavaScript pattern without the ``u`` flag cannot
    name a character above U+FFFF (``\\U…`` is not an escape there). The few invisible
    characters beyond it (U+110BD, U+1D173…, tags U+E0001…) are still refused by the server;
    the fuzz test lists that as a rule the document cannot state.
    """
    points = [c for c in range(0x10000) if test(chr(c))]
    ranges: list[tuple[int, int]] = []
    for c in points:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))

    def escape(c: int) -> str:
        return f"\\u{c:04X}"

    return "".join(escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges)


# What the server refuses, said as patterns so that the OpenAPI document says it too:
# control characters (Unicode Cc) anywhere; in identifiers also invisible format characters
# (Cf); and a required value must hold something besides white space.
_CC = _char_class(lambda ch: unicodedata.category(ch) == "Cc")
_CF = _char_class(lambda ch: unicodedata.category(ch) == "Cf")
_SPACE = _char_class(lambda ch: ch.isspace() and unicodedata.category(ch) != "Cc")
TEXT_PATTERN = f"^[^{_CC}]*$"
NONBLANK_TEXT_PATTERN = f"^[^{_CC}]*[^{_CC}{_CF}{_SPACE}][^{_CC}]*$"
IDENTIFIER_PATTERN = f"^[^{_CC}{_CF}]*[^{_CC}{_CF}{_SPACE}][^{_CC}{_CF}]*$"
# Shown in the document; enforced by the validators below, whose messages are bilingual.
_TEXT = {"pattern": TEXT_PATTERN}
_NONBLANK = {"pattern": NONBLANK_TEXT_PATTERN}
_IDENT = {"pattern": IDENTIFIER_PATTERN}


def _clean_text(value: str) -> str:
    """Normalise to NFC and refuse control characters, which no name or address contains."""
    # Checked before trimming: a trailing tab or line break is a control character too.
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("contains control characters / chứa ký tự điều khiển")
    return unicodedata.normalize("NFC", value).strip()


def _clean_nonblank(value: str) -> str:
    value = _clean_text(value)
    if not value:
        raise ValueError("must not be blank / không được để trống")
    return value


def _clean_identifier(value: str) -> str:
    """Identifiers also refuse invisible format characters: "NLD1" + U+200B looks like "NLD1"."""
    value = _clean_nonblank(value)
    for ch in value:
        if unicodedata.category(ch) == "Cf":
            raise ValueError(
                f"contains the invisible character U+{ord(ch):04X} / chứa ký tự vô hình"
                f" U+{ord(ch):04X}"
            )
    return value


def _iso_date(value: object) -> object:
    """Query strings carry dates as text; refuse numbers, which pydantic would read as epochs."""
    if isinstance(value, str) and not _DATE_TEXT.fullmatch(value):
        raise ValueError("expected a date YYYY-MM-DD / cần ngày dạng YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("expected a date YYYY-MM-DD / cần ngày dạng YYYY-MM-DD")
    return value


def _iso_datetime(value: object) -> object:
    if isinstance(value, int | float) or (
        isinstance(value, str) and not _DATE_TEXT.fullmatch(value[:10])
    ):
        raise ValueError("expected an ISO 8601 date-time / cần thời điểm dạng ISO 8601")
    return value


def naive_utc(value: dt.datetime) -> dt.datetime:
    """Convert a client's time to the naive UTC the database stores."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _naive_utc_checked(value: dt.datetime) -> dt.datetime:
    try:
        return naive_utc(value)
    except OverflowError:
        raise ValueError("date-time out of range / thời điểm ngoài phạm vi") from None


def _as_utc(value: dt.datetime) -> dt.datetime:
    """Stored times are naive UTC; say so on the wire (RFC 3339 needs an offset)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
QueryDate = Annotated[dt.date, BeforeValidator(_iso_date)]
QueryDateTime = Annotated[
    dt.datetime, BeforeValidator(_iso_datetime), AfterValidator(lambda v: _naive_utc_checked(v))
]
UtcDateTime = Annotated[dt.datetime, AfterValidator(_as_utc)]
Text = Annotated[str, Field(json_schema_extra=_TEXT), AfterValidator(_clean_text)]
ShortText = Annotated[
    str,
    Field(min_length=1, max_length=200, json_schema_extra=_NONBLANK),
    AfterValidator(_clean_nonblank),
]
ExternalId = Annotated[
    str,
    Field(min_length=1, max_length=100, json_schema_extra=_IDENT),
    AfterValidator(_clean_identifier),
]
OptionalText = Annotated[
    str, Field(max_length=500, json_schema_extra=_TEXT), AfterValidator(_clean_text)
]
# Five digits, but never 00000 (codes count from 00001); whether it exists is the gazetteer's.
WardCode = Annotated[
    str,
    Field(pattern=r"^(0000[1-9]|000[1-9][0-9]|00[1-9][0-9]{2}|0[1-9][0-9]{3}|[1-9][0-9]{4})$"),
]
ProvinceCode = Annotated[str, Field(pattern=r"^[0-9]{2}$")]
Money = Annotated[int, Field(ge=0, le=1_000_000_000)]
SearchText = Annotated[
    str, Field(min_length=1, max_length=100, json_schema_extra=_TEXT), AfterValidator(_clean_text)
]
SkillItem = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^;]*$",
        json_schema_extra={"pattern": f"^[^;{_CC}]*$"},
    ),
    AfterValidator(_clean_text),
]


class Strict(BaseModel):
    """Bodies refuse unknown fields: a typo should fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- pagination


def encode_cursor(last_id: int) -> str:
    """Write a keyset cursor: the last id served. Clients treat it as opaque."""
    return str(last_id)


def decode_cursor(cursor: str) -> int:
    return int(cursor)


class QueryModel(BaseModel):
    """Query parameters refuse unknown names: a misspelt filter must not return everything."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(QueryModel):
    limit: int = Field(50, ge=1, le=200, description="Page size, at most 200")
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,9}$")] | None = Field(
        None, description="Opaque cursor: pass back the next_cursor of the previous page"
    )

    @property
    def after_id(self) -> int:
        return decode_cursor(self.cursor) if self.cursor else 0


class ReferencePageQuery(PageQuery):
    """Reference lists (trades, skills) are short: one page of 200 holds them all today."""

    limit: int = Field(200, ge=1, le=200, description="Page size, at most 200")


class Page(BaseModel):
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")


#: How deep a ranked list (matches, shortlists, pathways) can be paged: past the first 200
#: the model's order says little, and each page re-ranks down to its own depth.
RANKED_DEPTH = 200
# depth 0-199 · the score's float64 bits, big-endian hex, within [0, 1] (non-negative doubles
# order like their bits: 1.0 is 3ff0…0) · the last item's id. A cursor of this shape is one
# this list could have given, so the document states the whole rule.
_RANK_CURSOR = re.compile(
    r"^(1[0-9]{2}|[1-9]?[0-9])"
    r"-(3ff0{13}|3f[0-9a-e][0-9a-f]{13}|3[0-9a-e][0-9a-f]{14}|[0-2][0-9a-f]{15})"
    r"-([0-9]{1,9})$"
)


@dataclass(frozen=True)
class RankCursor:
    """Where a ranked page ended: how deep it went, and its last item's exact score and id.

    The next page is what ranks strictly after that item, so a page never repeats an item
    of the one before, even when the registry changed in between (a filled commitment, a
    worker hired); its depth says how far down the next ranking must go.
    """

    offset: int
    score: float
    record_id: int

    def encode(self) -> str:
        score = min(max(self.score, 0.0), 1.0) + 0.0  # never -0.0, whose bits read as negative
        return f"{self.offset}-{struct.pack('>d', score).hex()}-{self.record_id}"

    @classmethod
    def decode(cls, text: str) -> RankCursor:
        found = _RANK_CURSOR.match(text)
        if found is None:
            raise ValueError("not a cursor of this list")
        offset, score, record_id = found.groups()  # the pattern bounds depth and score
        return cls(int(offset), struct.unpack(">d", bytes.fromhex(score))[0], int(record_id))


def _rank_cursor(text: str) -> str:
    try:
        RankCursor.decode(text)
    except ValueError:
        raise ValueError(
            "con trỏ không thuộc danh sách này; bỏ cursor để xem từ đầu / not a cursor of"
            " this list: pass back next_cursor, or leave cursor out to start again"
        ) from None
    return text


# The pattern is in the document; the check is the validator's, so that a stray cursor gets
# a sentence rather than a regular expression.
RankCursorText = Annotated[
    str,
    Field(max_length=40, json_schema_extra={"pattern": _RANK_CURSOR.pattern}),
    AfterValidator(_rank_cursor),
]


class RankedPageQuery(QueryModel):
    """A ranked list, best first, in pages: ``cursor`` is the previous page's next_cursor."""

    limit: int = Field(10, ge=1, le=50)
    cursor: RankCursorText | None = Field(
        None,
        description="Opaque: the previous page's next_cursor. Ranked lists page down to"
        f" {RANKED_DEPTH} items; each page ranks afresh and skips what the last page showed",
    )

    @property
    def after(self) -> RankCursor | None:
        return RankCursor.decode(self.cursor) if self.cursor else None

    @property
    def depth(self) -> int:
        """How many items the ranking must produce for this page."""
        start = self.after.offset if self.after else 0
        return min(start + self.limit, RANKED_DEPTH)


# ---------------------------------------------------------------- places


# Coordinates are optional but never null: omit them, or give both (inside Viet Nam).
LAT_FIELD = Field(None, ge=ingest.LAT_RANGE[0], le=ingest.LAT_RANGE[1])
LON_FIELD = Field(None, ge=ingest.LON_RANGE[0], le=ingest.LON_RANGE[1])
_COORDINATES_TOGETHER = {"dependentRequired": {"lat": ["lon"], "lon": ["lat"]}}
# A new record needs a place: a ward code, or an address that names one.
_PLACE_REQUIRED = {
    "anyOf": [
        {"required": ["ward_code"], "properties": {"ward_code": {"type": "string"}}},
        {
            "required": ["address"],
            "properties": {"address": {"type": "string", "pattern": NONBLANK_TEXT_PATTERN}},
        },
    ],
    **_COORDINATES_TOGETHER,
}


class PlaceIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_PLACE_REQUIRED)

    ward_code: WardCode | None = None
    address: OptionalText | None = None
    lat: float = LAT_FIELD
    lon: float = LON_FIELD


class PlacePatch(Strict):
    """A new ward code or address replaces the stored place; coordinates alone refine it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_COORDINATES_TOGETHER)

    ward_code: WardCode = None
    address: Annotated[
        str, Field(max_length=500, json_schema_extra=_NONBLANK), AfterValidator(_clean_nonblank)
    ] = None
    lat: float = LAT_FIELD
    lon: float = LON_FIELD


class PlaceOut(BaseModel):
    ward_code: str
    ward_name: str | None
    province_code: str
    address: str | None
    lat: float
    lon: float
    place_source: str


# ---------------------------------------------------------------- enterprises


TaxCode = Annotated[str, Field(pattern=r"^[0-9]{10}(-[0-9]{3})?$")]
Email = Annotated[
    str, Field(max_length=200, pattern=f"^[^@\\s{_CC}]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$")
]
# Vietnamese numbers as the import rules read them: spaces, dots, dashes allowed anywhere; an
# empty value clears the number. Enforced by matcher.ingest (bilingual, beside other fields).
_E, _S = f"[{_SPACE}]*", "[ .\\-\\u00A0]*"
_PHONE_START = f"^{_E}((0|\\+{_S}8{_S}4){_S}"
MOBILE_PATTERN = f"{_PHONE_START}[35789]({_S}[0-9]){{8}})?{_E}$"
PHONE_PATTERN = f"{_PHONE_START}[1-9]({_S}[0-9]){{8,9}})?{_E}$"
MobilePhone = Annotated[
    str,
    Field(max_length=20, json_schema_extra={"pattern": MOBILE_PATTERN}),
    AfterValidator(_clean_text),
]
OptionalPhone = Annotated[
    str,
    Field(max_length=20, json_schema_extra={"pattern": PHONE_PATTERN}),
    AfterValidator(_clean_text),
]


class EnterpriseIn(PlaceIn):
    external_id: ExternalId
    name: ShortText
    tax_code: TaxCode
    sector: ShortText | None = None
    contact_email: Email | None = None
    contact_phone: OptionalPhone | None = None


class EnterprisePatch(PlacePatch):
    name: ShortText = None
    tax_code: TaxCode = None
    sector: ShortText | None = None
    contact_email: Email | None = None
    contact_phone: OptionalPhone | None = None


class EnterpriseOut(PlaceOut):
    id: int
    external_id: str
    name: str
    tax_code: str
    sector: str | None
    contact_email: str | None = Field(description="Hidden (null) for planners")
    contact_phone: str | None = Field(description="Hidden (null) for planners")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class EnterprisePage(Page):
    items: list[EnterpriseOut]


class EnterpriseQuery(PageQuery):
    external_id: ExternalId | None = None
    ward_code: WardCode | None = None
    province_code: ProvinceCode | None = None
    q: SearchText | None = Field(None, description="Name search, with or without diacritics")


# ---------------------------------------------------------------- courses


class CourseIn(PlaceIn):
    external_id: ExternalId
    name: ShortText
    trade: TradeCode
    provider: ShortText
    level: CourseLevel | None = None
    start_date: dt.date
    end_date: dt.date
    capacity: int = Field(ge=1, le=100_000)


class CoursePatch(PlacePatch):
    name: ShortText = None
    trade: TradeCode = None
    provider: ShortText = None
    level: CourseLevel | None = None
    start_date: dt.date = None
    end_date: dt.date = None
    capacity: int = Field(None, ge=1, le=100_000)


class CourseOut(PlaceOut):
    id: int
    external_id: str
    name: str
    trade: str
    provider: str
    level: str | None
    start_date: dt.date
    end_date: dt.date
    capacity: int
    enrolled: int = Field(description="Enrollments not dropped")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CoursePage(Page):
    items: list[CourseOut]


class CourseQuery(PageQuery):
    external_id: ExternalId | None = None
    trade: TradeCode | None = None
    ward_code: WardCode | None = None
    province_code: ProvinceCode | None = None
    provider: ShortText | None = None
    starts_from: QueryDate | None = Field(None, description="start_date on or after")
    starts_until: QueryDate | None = Field(None, description="start_date on or before")
    q: SearchText | None = None


# ---------------------------------------------------------------- workers


def _birth_year_range(schema: dict[str, Any]) -> None:
    """Aged 15 to 80 today: the bounds move with the clock, so the document reads them."""
    low, high = _birth_years()
    schema.update(minimum=low, maximum=high)


def _birth_years() -> tuple[int, int]:
    from matcher import clock

    year = clock.today().year
    return year - 80, year - 15


# Enforced by the import rules (matcher.ingest), which report it beside every other bad field.
BirthYear = Annotated[int, Field(json_schema_extra=_birth_year_range)]


class WorkerIn(PlaceIn):
    external_id: ExternalId
    full_name: ShortText
    birth_year: BirthYear
    gender: Gender | None = None
    ethnic_minority: bool | None = None
    disability: bool | None = None
    phone: MobilePhone | None = None
    education: EducationCode | None = None
    trades: list[TradeCode] = Field(default_factory=list, max_length=6)
    skills: list[SkillItem] = Field(
        default_factory=list, max_length=50, description="Skill codes or free text (normalised)"
    )
    experience_years: float | None = Field(None, ge=0, le=60)
    expected_wage_vnd: Money | None = None
    max_commute_km: float | None = Field(None, gt=0, le=200)
    available_from: dt.date | None = None
    consent_on: dt.date | None = Field(
        None,
        description="The day the worker consented to the processing of their personal data"
        " (recorded as a consent with the current text; not in the future)",
    )


class WorkerPatch(PlacePatch):
    full_name: ShortText = None
    birth_year: BirthYear = None
    gender: Gender | None = None
    ethnic_minority: bool | None = None
    disability: bool | None = None
    phone: MobilePhone | None = None
    education: EducationCode | None = None
    trades: list[TradeCode] | None = Field(None, max_length=6)
    skills: list[SkillItem] | None = Field(None, max_length=50)
    experience_years: float | None = Field(None, ge=0, le=60)
    expected_wage_vnd: Money | None = None
    max_commute_km: float | None = Field(None, gt=0, le=200)
    available_from: dt.date | None = None


class WorkerOut(PlaceOut):
    id: int
    external_id: str
    full_name: str | None
    birth_year: int | None = Field(description="Protected; hidden (null) for enterprises")
    gender: str | None = Field(description="Protected; hidden (null) for enterprises")
    ethnic_minority: bool | None = Field(description="Protected; hidden (null) for enterprises")
    disability: bool | None = Field(description="Protected; hidden (null) for enterprises")
    phone: str | None
    education: str
    trades: list[str]
    skills: list[str]
    skills_unrecognised: list[str] | None = Field(
        description="Free text no skill matched, kept as given; null for enterprises"
    )
    skill_notes: list[SkillNoteOut] | None = Field(
        None, description="On create and update: what each free-text skill became"
    )
    experience_years: float | None
    expected_wage_vnd: int | None
    max_commute_km: float
    available_from: dt.date | None
    erased: bool = Field(description="True after an erasure request removed the personal data")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class WorkerPage(Page):
    items: list[WorkerOut]


class WorkerQuery(PageQuery):
    external_id: ExternalId | None = None
    trade: TradeCode | None = None
    ward_code: WardCode | None = None
    province_code: ProvinceCode | None = None
    education: EducationCode | None = None
    available_by: QueryDate | None = Field(None, description="available_from on or before")
    updated_since: QueryDateTime | None = None
    q: SearchText | None = Field(
        None,
        description="A name, a phone number or a commune's name, with or without diacritics",
    )


# ---------------------------------------------------------------- enrollments


class EnrollmentIn(Strict):
    # Only a finished enrollment (graduated or dropped) has a completion date.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"required": ["status"], "properties": {"status": {"const": "enrolled"}}},
            "then": {"properties": {"completed_on": {"type": "null"}}},
        },
    )

    worker_external_id: ExternalId
    course_external_id: ExternalId
    status: EnrollmentStatus
    completed_on: dt.date | None = None


class EnrollmentPatch(Strict):
    status: EnrollmentStatus = None
    completed_on: dt.date | None = None


class EnrollmentOut(BaseModel):
    id: int
    worker_id: int
    worker_external_id: str
    course_id: int
    course_external_id: str
    status: str
    completed_on: dt.date | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class EnrollmentPage(Page):
    items: list[EnrollmentOut]


class EnrollmentQuery(PageQuery):
    worker_id: int | None = Field(None, ge=1, le=2**31 - 1)
    course_id: int | None = Field(None, ge=1, le=2**31 - 1)
    status: EnrollmentStatus | None = None
    completed_from: QueryDate | None = None
    completed_until: QueryDate | None = None


# ---------------------------------------------------------------- commitments


class CommitmentIn(PlaceIn):
    # The site defaults to the enterprise's place, so none of its fields is required.
    model_config = ConfigDict(extra="forbid", json_schema_extra=_COORDINATES_TOGETHER)

    external_id: ExternalId
    enterprise_external_id: ExternalId | None = Field(
        None, description="Required except for enterprise tokens (their own enterprise)"
    )
    trade: TradeCode
    occupation_isco: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    slots: int = Field(ge=1, le=100_000)
    wage_vnd: Money
    start_date: dt.date
    expires_on: dt.date | None = None
    min_education: EducationCode | None = None
    required_skills: list[SkillItem] = Field(default_factory=list, max_length=50)
    shift_work: bool | None = None
    course_external_id: ExternalId | None = None


class CommitmentPatch(PlacePatch):
    occupation_isco: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    slots: int = Field(None, ge=1, le=100_000)
    wage_vnd: Money = None
    start_date: dt.date = None
    expires_on: dt.date | None = None
    min_education: EducationCode | None = None
    required_skills: list[SkillItem] | None = Field(None, max_length=50)
    shift_work: bool | None = None
    course_external_id: ExternalId | None = None


class CommitmentOut(PlaceOut):
    id: int
    external_id: str
    enterprise_id: int
    enterprise_external_id: str
    enterprise_name: str
    trade: str
    occupation_isco: str | None
    slots: int
    slots_filled: int
    slots_open: int
    state: CommitmentState
    wage_vnd: int
    site_from_enterprise: bool
    start_date: dt.date
    expires_on: dt.date | None
    min_education: str | None
    required_skills: list[str]
    required_skills_unrecognised: list[str] = Field(
        description="Free text no skill matched, kept as given"
    )
    skill_notes: list[SkillNoteOut] | None = Field(
        None, description="On create and update: what each free-text skill became"
    )
    shift_work: bool | None
    course_id: int | None
    course_external_id: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CommitmentPage(Page):
    items: list[CommitmentOut]


class CommitmentQuery(PageQuery):
    external_id: ExternalId | None = None
    enterprise_id: int | None = Field(None, ge=1, le=2**31 - 1)
    trade: TradeCode | None = None
    ward_code: WardCode | None = None
    province_code: ProvinceCode | None = None
    state: CommitmentState | None = None
    course_id: int | None = Field(None, ge=1, le=2**31 - 1)
    starts_from: QueryDate | None = None
    starts_until: QueryDate | None = None


# ---------------------------------------------------------------- referrals


class Reason(Strict):
    """One reason shown with a match, in Vietnamese and English."""

    code: (
        Annotated[str, Field(max_length=60, json_schema_extra=_TEXT), AfterValidator(_clean_text)]
        | None
    ) = None
    vi: Annotated[
        str,
        Field(min_length=1, max_length=300, json_schema_extra=_TEXT),
        AfterValidator(_clean_text),
    ]
    en: Annotated[
        str,
        Field(min_length=1, max_length=300, json_schema_extra=_TEXT),
        AfterValidator(_clean_text),
    ]
    effect: float | None = Field(None, ge=-100, le=100, description="Contribution to the score")


def _one_of_id(name: str) -> dict[str, Any]:
    return {
        "anyOf": [
            {"required": [f"{name}_id"], "properties": {f"{name}_id": {"type": "integer"}}},
            {
                "required": [f"{name}_external_id"],
                "properties": {f"{name}_external_id": {"type": "string"}},
            },
        ]
    }


class ReferralIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"allOf": [_one_of_id("worker"), _one_of_id("commitment")]},
    )

    external_id: ExternalId | None = None
    worker_id: int | None = Field(None, ge=1, le=2**31 - 1)
    worker_external_id: ExternalId | None = None
    commitment_id: int | None = Field(None, ge=1, le=2**31 - 1)
    commitment_external_id: ExternalId | None = None
    referred_on: dt.date | None = Field(None, description="Default today")
    score: float | None = Field(None, ge=0, le=1, description="Hire probability shown")
    scorer: (
        Annotated[str, Field(max_length=40, json_schema_extra=_TEXT), AfterValidator(_clean_text)]
        | None
    ) = None
    model_version: (
        Annotated[str, Field(max_length=64, json_schema_extra=_TEXT), AfterValidator(_clean_text)]
        | None
    ) = None
    reasons: list[Reason] | None = Field(None, max_length=10)
    note: (
        Annotated[str, Field(max_length=500, json_schema_extra=_TEXT), AfterValidator(_clean_text)]
        | None
    ) = None


class ReferralPatch(Strict):
    status: ReferralStatus | None = None
    hired_on: dt.date | None = None
    left_on: dt.date | None = None
    note: (
        Annotated[str, Field(max_length=500, json_schema_extra=_TEXT), AfterValidator(_clean_text)]
        | None
    ) = None


class ReferralEventOut(BaseModel):
    from_status: str | None
    to_status: str
    at: UtcDateTime
    actor_role: str | None
    source: str
    note: str | None


class ReferralOut(BaseModel):
    id: int
    external_id: str | None
    worker_id: int
    worker_external_id: str
    commitment_id: int
    commitment_external_id: str
    enterprise_id: int
    referred_on: dt.date
    status: str
    hired_on: dt.date | None
    left_on: dt.date | None
    score: float | None
    scorer: str | None
    model_version: str | None
    reasons: list[Reason] | None
    history: list[ReferralEventOut]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ReferralPage(Page):
    items: list[ReferralOut]


class ReferralQuery(PageQuery):
    external_id: ExternalId | None = None
    worker_id: int | None = Field(None, ge=1, le=2**31 - 1)
    commitment_id: int | None = Field(None, ge=1, le=2**31 - 1)
    status: ReferralStatus | None = None
    referred_from: QueryDate | None = None
    referred_until: QueryDate | None = None


# ---------------------------------------------------------------- taxonomy and places


class OccupationOut(BaseModel):
    isco: str
    label_vi: str
    label_en: str


class TradeOut(BaseModel):
    code: str
    label_vi: str
    label_en: str
    occupations: list[OccupationOut]
    skill_count: int


class TradeList(Page):
    items: list[TradeOut]


class SkillOut(BaseModel):
    code: str
    label_vi: str
    label_en: str
    trades: list[str]
    synonyms: list[str]


class SkillList(Page):
    items: list[SkillOut]


class SkillQuery(ReferencePageQuery):
    trade: TradeCode | None = None
    q: SearchText | None = Field(
        None, description="Search labels and synonyms, with or without diacritics"
    )


class NormalizeQuery(QueryModel):
    q: Annotated[
        str,
        Field(min_length=1, max_length=500, json_schema_extra=_TEXT),
        AfterValidator(_clean_text),
    ] = Field(description="Free text; several items may be separated by ';' or ','")


class SkillMatchOut(BaseModel):
    code: str
    label_vi: str
    label_en: str
    confidence: float


class NormalizedItem(BaseModel):
    text: str
    known: bool
    match: SkillMatchOut | None
    alternatives: list[SkillMatchOut]


class NormalizeOut(BaseModel):
    query: str
    items: list[NormalizedItem]


class WardOut(BaseModel):
    code: str
    name: str
    short_name: str
    kind: str
    province_code: str
    province_name: str
    lat: float
    lon: float
    former_districts: list[str]


class PlaceQuery(PageQuery):
    q: Annotated[
        str,
        Field(min_length=1, max_length=300, json_schema_extra=_TEXT),
        AfterValidator(_clean_text),
    ] = Field(description="Ward/commune name or a full address, with or without diacritics")
    province_code: ProvinceCode | None = None
    limit: int = Field(20, ge=1, le=100, description="Page size, at most 100")


class AddressMatchOut(BaseModel):
    ward: WardOut
    method: str
    confidence: float
    note: str


class PlaceSearchOut(Page):
    query: str
    items: list[WardOut]
    address_match: AddressMatchOut | None = Field(
        description="When q reads as an address (old or new form), the ward it resolves to"
    )


# ---------------------------------------------------------------- imports and tokens


ImportKind = Literal[ingest.KINDS]


class ImportForm(BaseModel):
    file: bytes = Field(description="CSV (UTF-8, with or without BOM) or .xlsx")
    atomic: bool = Field(False, description="Reject the whole file when one row is bad")
    consent_confirmed: bool = Field(
        False,
        description="Workers: the uploader confirms that every person listed consented to the"
        " processing of their personal data (recorded for rows without consent_on)",
    )


class RowErrorOut(BaseModel):
    row: int
    column: str | None
    reason: str


class SkillNoteOut(BaseModel):
    row: int
    column: str
    text: str
    code: str | None
    confidence: float | None


class PlaceNoteOut(BaseModel):
    row: int
    text: str
    ward_code: str
    ward_name: str
    method: str
    note: str


class ImportReport(BaseModel):
    kind: str
    filename: str | None
    atomic: bool
    total_rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    written: bool = Field(description="False when nothing was written (atomic rejection)")
    errors: list[RowErrorOut]
    skill_notes: list[SkillNoteOut]
    place_notes: list[PlaceNoteOut]
    seconds: float
    import_id: int | None = Field(None, description="The stored record of this import")


class TokenIn(Strict):
    # An enterprise token names its enterprise, no other does; only caseworkers get a province.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"role": {"const": "enterprise"}}},
                    "then": {
                        "required": ["enterprise_external_id"],
                        "properties": {"enterprise_external_id": {"type": "string"}},
                    },
                    "else": {"properties": {"enterprise_external_id": {"type": "null"}}},
                },
                {
                    "if": {"properties": {"role": {"const": "caseworker"}}},
                    "then": {},
                    "else": {"properties": {"province_code": {"type": "null"}}},
                },
            ]
        },
    )

    role: Role
    enterprise_external_id: ExternalId | None = None
    province_code: ProvinceCode | None = None
    label: ShortText | None = None
    expires_in_days: int | None = Field(
        None,
        ge=1,
        le=MAX_TOKEN_DAYS,
        description="Days the token lives; default the TOKEN_LIFETIME_DAYS setting (90)",
    )


class TokenOut(BaseModel):
    id: int
    prefix: str
    role: str
    enterprise_id: int | None
    province_code: str | None
    label: str | None
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None
    expires_at: UtcDateTime | None
    last_used_at: UtcDateTime | None = Field(description="Kept to the minute")


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; store it safely")


class TokenList(Page):
    items: list[TokenOut]


class AccessLogOut(BaseModel):
    id: int
    at: UtcDateTime
    token_id: int | None
    user_id: int | None = Field(
        description="The person who read it: the signed-in user, or the user the token was"
        " issued to"
    )
    user_login: str | None
    user_name: str | None
    role: str
    worker_id: int
    action: str
    endpoint: str


class AccessLogPage(Page):
    items: list[AccessLogOut]


class AccessLogQuery(PageQuery):
    worker_id: int | None = Field(None, ge=1, le=2**31 - 1)
    worker_external_id: ExternalId | None = Field(
        None, description="The worker by the sending system's id (no such worker: no rows)"
    )
    token_id: int | None = Field(None, ge=1, le=2**31 - 1)
    user_id: int | None = Field(None, ge=1, le=2**31 - 1)
    since: QueryDateTime | None = Field(None, description="Reads at or after this moment")
    until: QueryDateTime | None = Field(None, description="Reads before this moment")
    order: Literal["oldest", "newest"] = Field(
        "oldest", description="oldest first (the default) or newest first"
    )


# ---------------------------------------------------------------- matching and models


class MatchQuery(RankedPageQuery):
    radius_km: float | None = Field(
        None,
        gt=0,
        le=200,
        description="A hard limit. Default: up to twice the worker's max_commute_km, and"
        " always the nearest open commitments",
    )
    trade: TradeCode | None = Field(
        None, description="A hard filter. Default: every trade, the model prices the fit"
    )


class CandidateQuery(RankedPageQuery):
    radius_km: float | None = Field(
        None,
        gt=0,
        le=200,
        description="A hard limit. Default: every worker whose reach (twice their"
        " max_commute_km) takes in the site, and always the nearest workers",
    )


class PathwayQuery(RankedPageQuery):
    radius_km: float | None = Field(
        None,
        gt=0,
        le=200,
        description="A hard limit on the course's distance. Default: twice the worker's"
        " max_commute_km, and always the nearest courses",
    )


class ReasonOut(BaseModel):
    code: str | None
    vi: str
    en: str
    effect: float | None


class MatchItem(BaseModel):
    commitment_id: int
    commitment_external_id: str
    enterprise_id: int
    enterprise_name: str
    trade: str
    score: float = Field(ge=0, le=1, description="Probability that a referral ends in a hire")
    distance_km: float
    wage_vnd: int
    start_date: dt.date
    expires_on: dt.date | None
    slots_open: int
    reasons: list[ReasonOut]


class MatchList(Page):
    scorer: Literal["model", "rules"]
    model_version: str
    radius_km: float = Field(
        description="The commute the worker stated (or the radius_km filter asked for)"
    )
    reach_km: float = Field(
        description="How far retrieval looked: twice the stated commute, or the radius_km"
        " filter (hard); the nearest open commitments are always considered too"
    )
    candidates_considered: int
    items: list[MatchItem]


class CandidateItem(BaseModel):
    worker_id: int | None = Field(
        description="For caseworkers and admins, to refer; null for enterprises"
    )
    worker_ref: str = Field(
        description="Opaque pseudonym of this worker on this commitment's shortlist only",
        pattern=r"^UV-[A-Z2-7]{12}$",
    )
    score: float = Field(ge=0, le=1)
    distance_km: float
    expected_wage_vnd: int | None
    available_from: dt.date | None
    reasons: list[ReasonOut]


class CandidateList(Page):
    scorer: Literal["model", "rules"]
    model_version: str
    commitment_id: int
    items: list[CandidateItem]


class PathwayCommitment(BaseModel):
    commitment_id: int
    commitment_external_id: str
    enterprise_name: str
    score: float = Field(ge=0, le=1)
    distance_km: float
    wage_vnd: int
    start_date: dt.date


class PathwayItem(BaseModel):
    course_id: int
    course_external_id: str
    course_name: str
    provider: str
    trade: str
    start_date: dt.date
    end_date: dt.date
    distance_km: float
    expected_hire_probability: float = Field(ge=0, le=1)
    commitments: list[PathwayCommitment]
    reasons: list[ReasonOut]


class PathwayList(Page):
    scorer: Literal["model", "rules"]
    model_version: str
    radius_km: float
    items: list[PathwayItem]


class ModelOut(BaseModel):
    version: str
    created_at: str
    current: bool
    scorer: str
    gate: dict[str, Any] = Field(
        description="Promotion decision: the quality gate and the fairness gate, with reasons"
    )
    fairness: dict[str, Any] | None = Field(
        None, description="Fairness audit at training time: gate result and groups (aggregates)"
    )
    metrics: dict[str, Any]
    training_window: dict[str, Any]
    features: list[str]
    libraries: dict[str, str]
    code_version: str
    sha256: str
    promoted_by: dict[str, Any] | None = None
    promotions: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Every promotion of this version, oldest first: when, by whom, why",
    )


class ModelList(Page):
    current_version: str | None
    serving: str = Field(description="What scores now: a model version or the rule scorer")
    error: str | None = Field(description="Why the CURRENT version is refused, if it is")
    items: list[ModelOut]


class ModelQuery(QueryModel):
    limit: int = Field(50, ge=1, le=200, description="Page size, at most 200")
    cursor: Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")] | None = Field(
        None, description="Opaque: the previous page's next_cursor (newest versions first)"
    )


class TrainIn(Strict):
    promote: Literal["gate", "never"] = Field(
        "gate", description="gate: promote when the quality gate passes; never: store only"
    )


class PromoteIn(Strict):
    reason: Annotated[
        str,
        Field(min_length=3, max_length=500, json_schema_extra=_TEXT),
        AfterValidator(_clean_text),
    ]


# ---------------------------------------------------------------- background jobs


JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


class JobOut(BaseModel):
    id: int
    kind: str = Field(description="train, allocation, import: what the job does")
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    message: str | None = Field(description="What it is doing now, in Vietnamese / English")
    attempts: int = Field(description="Runs started; a job whose consumer died is retried once")
    max_attempts: int
    cancel_requested: bool
    params: dict[str, Any]
    result: dict[str, Any] | None = Field(description="When done: what the job produced")
    error: str | None = Field(description="When failed: why")
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    heartbeat_at: UtcDateTime | None = Field(description="Last sign of life of its consumer")
    worker: str | None = Field(description="host:pid of the consumer that last ran it")
    finished_at: UtcDateTime | None
    url: str = Field(description="Where to follow it: GET this until status is final")


class JobPage(Page):
    items: list[JobOut]


class JobQuery(PageQuery):
    status: JobStatus | None = None
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")] | None = None
    order: Literal["oldest", "newest"] = Field(
        "oldest", description="oldest first (the default) or newest first"
    )


# ---------------------------------------------------------------- allocation rounds


class AllocationIn(Strict):
    policy: Literal["max_hires", "stable"] = "max_hires"
    over_referral_factor: float = Field(
        1.0, ge=1.0, le=5.0, description="Referrals per open slot (not every referral hires)"
    )
    trade: TradeCode | None = None
    province_code: ProvinceCode | None = None
    ward_codes: list[WardCode] | None = Field(None, max_length=500)
    graduated_since: dt.date | None = None
    available_by: dt.date | None = None
    max_distance_km: float | None = Field(
        None,
        gt=0,
        le=200,
        description="A hard limit. Default: every worker whose reach (twice their"
        " max_commute_km) takes in the site, and always the nearest workers",
    )
    candidates_per_worker: int = Field(20, ge=1, le=50)


class AllocationFigures(BaseModel):
    expected_hires: float
    workers_placed: int
    slots_used: int
    commitments_used: int
    median_distance_km: float | None
    seconds: float


class AllocationSummary(BaseModel):
    population: int
    candidate_pairs: int
    commitments: int
    capacity: int
    policy: AllocationFigures
    greedy_top1: AllocationFigures
    gain_percent: float | None = Field(
        description="Expected hires over greedy_top1 (each worker's own top-1, same capacities), %"
    )
    greedy_sequential: AllocationFigures = Field(
        description="A smarter greedy for reference: workers in turn take the best open place"
    )


class AllocationPairOut(BaseModel):
    id: int
    worker_id: int
    worker_external_id: str
    commitment_id: int
    commitment_external_id: str
    enterprise_name: str
    probability: float = Field(ge=0, le=1)
    distance_km: float
    reasons: list[ReasonOut] | None
    referral_id: int | None


class AllocationOut(BaseModel):
    id: int
    created_at: UtcDateTime
    policy: str
    params: dict[str, Any]
    scorer: str | None
    model_version: str | None
    status: Literal["running", "done", "failed"]
    progress: float
    message: str | None
    job_id: int | None = Field(description="The background job doing the round: GET /jobs/{id}")
    summary: AllocationSummary | None
    pairs: list[AllocationPairOut] | None = Field(
        description="Caseworkers and admins only; null for planners"
    )
    next_cursor: str | None


class AllocationQuery(PageQuery):
    limit: int = Field(100, ge=1, le=200)


class AllocationListQuery(PageQuery):
    """Rounds newest first; the cursor is the last id served (the next page is older)."""

    limit: int = Field(20, ge=1, le=100)


class AllocationPage(BaseModel):
    items: list[AllocationOut]
    next_cursor: str | None


class ConfirmIn(Strict):
    pair_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        None, max_length=10_000, description="Pairs to refer; all unconfirmed pairs when null"
    )


class ConfirmSkip(BaseModel):
    pair_id: int
    reason: str


class ConfirmOut(BaseModel):
    run_id: int
    created: int
    skipped: list[ConfirmSkip]


ExportLang = Literal["vi", "en"]


class ExportQuery(QueryModel):
    format: Literal["csv", "xlsx"] = "csv"
    lang: ExportLang = Field("vi", description="Headers and words of the file: vi or en")


# ---------------------------------------------------------------- planning (aggregates only)

AreaLevel = Literal["province", "former_district", "park"]
SeriesKind = Literal["demand", "supply", "hires"]
MonthText = Annotated[
    str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="Month YYYY-MM")
]
AreaCodeText = Annotated[
    str,
    Field(
        min_length=2,
        max_length=80,
        pattern=r"^[0-9]{2}(-[a-z0-9-]{1,76})?$",
        description="Area code: a province code (33) or an area within it (33-yen-my)",
    ),
]


class PlanningQuery(QueryModel):
    province: Annotated[str, Field(pattern=r"^[0-9]{2}$")] | None = Field(
        None, description="Province code; a province-scoped token always means its province"
    )
    area_level: AreaLevel = Field(
        "former_district", description="Group communes by former district or park catchment"
    )
    trade: TradeCode | None = None
    area: AreaCodeText | None = None
    lang: ExportLang = Field("vi", description="Headers and words of a CSV or .xlsx: vi or en")


class SeriesQuery(PlanningQuery):
    kind: SeriesKind | None = None
    from_month: MonthText | None = None
    to_month: MonthText | None = None
    format: Literal["json", "csv", "xlsx", "svg"] = "json"
    limit: int = Field(100, ge=1, le=500, description="Series per page")
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,9}$")] | None = None


class ForecastQuery(PlanningQuery):
    kind: SeriesKind = "demand"
    format: Literal["json", "csv", "xlsx", "svg"] = "json"
    limit: int = Field(50, ge=1, le=500, description="Series per page")
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,9}$")] | None = None


class TablePage(PageQuery):
    """Rows of a planning table in pages; the csv, xlsx and svg forms always hold every row."""

    limit: int = Field(500, ge=1, le=2000, description="Rows per JSON page; exports hold every row")


class GapQuery(PlanningQuery, TablePage):
    format: Literal["json", "csv", "xlsx", "svg"] = "json"


class CoursePlanQuery(PlanningQuery, TablePage):
    format: Literal["json", "csv", "xlsx"] = "json"


class PlacementQuery(PlanningQuery, TablePage):
    by: Literal["course", "provider"] = "provider"
    format: Literal["json", "csv", "xlsx", "svg"] = "json"


class FairnessQuery(TablePage):
    province: Annotated[str, Field(pattern=r"^[0-9]{2}$")] | None = None
    lang: ExportLang = Field("vi", description="Headers and words of a CSV or .xlsx: vi or en")
    format: Literal["json", "csv", "xlsx", "svg"] = "json"


class SeriesItem(BaseModel):
    kind: SeriesKind
    trade: str
    area_level: AreaLevel
    area_code: str
    area_name: str
    total: float | None = Field(
        description="Sum over the months shown; null when a people count is under 10"
    )
    values: list[float | None] = Field(
        description="One per month; people counts of 1–9 are suppressed (null)"
    )


class Freshness(BaseModel):
    """Which stored refresh a planning answer comes from (files carry the same in headers:
    X-Computed-At, X-As-Of, X-Stale, X-Refresh-Job)."""

    computed_at: dt.datetime = Field(description="When the refresh that made it ended (UTC)")
    as_of: dt.date = Field(description="The day the results are as of")
    stale: bool = Field(
        description="The data, the day or the serving model changed since: a refresh is "
        "queued (refresh_job_id) and this is the last result until it ends"
    )
    refresh_job_id: int | None = Field(None, description="The refresh job, when stale")


class SeriesOut(Freshness):
    area_level: AreaLevel
    months: list[str]
    items: list[SeriesItem]
    next_cursor: str | None = None
    message: str | None = Field(None, description="Why there is nothing to show, if so")


class ForecastPoint(BaseModel):
    month: str
    point: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


class HistoryPoint(BaseModel):
    month: str
    value: float | None


class ForecastItem(BaseModel):
    kind: SeriesKind
    trade: str
    area_level: AreaLevel
    area_code: str
    area_name: str
    method: str
    history: list[HistoryPoint]
    forecast: list[ForecastPoint]


class BacktestRow(BaseModel):
    kind: str
    area_level: str
    method: str
    served: bool
    mase: float | None = Field(description="MAE ÷ in-sample seasonal-naive MAE (mean per series)")
    rel_mae: float | None = Field(
        description="MAE ÷ seasonal-naive MAE on the same held-out points; < 1 beats it"
    )
    coverage80: float | None
    coverage95: float | None
    n_series: int
    n_points: int


class ForecastOut(Freshness):
    kind: SeriesKind
    horizon: int
    first_month: str
    methods: dict[str, str] = Field(description="The method serving each kind/area level")
    backtest: list[BacktestRow]
    items: list[ForecastItem]
    next_cursor: str | None = None
    message: str | None = Field(None, description="Why there is no forecast, if so")


class TableOut(Freshness):
    """A planning table: one dict per row, columns described in docs/planning.md."""

    title: str
    first_month: str | None = None
    horizon: int | None = None
    methods: dict[str, str] | None = None
    items: list[dict[str, Any]]
    summary: list[dict[str, Any]] | None = Field(
        None, description="Totals over every row (not only this page)"
    )
    message: str | None = Field(None, description="Why there is nothing to show, if so")
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for more rows")


class FairnessOut(Freshness):
    scorer: str
    model_version: str
    gate: dict[str, Any]
    overall: dict[str, Any]
    groups: list[dict[str, Any]] = Field(description="A page of groups")
    unknowns: list[dict[str, Any]]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for more groups")
