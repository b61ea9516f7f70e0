"""Rating the case (好差评) from the progress page: the form a citizen fills in once the case
may be rated, and the rating shown once it is given.

Pure: the page parts are built from what the caller read (`starter.api.routes.citizen`); the rules
(which levels need a reason, one rating per case, when a case may be rated) are
`domain.rating`'s, only worded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from domain.notices import local_day, local_time
from domain.rating import REASON_LEVELS, REASON_MAX, RatingLevel, beijing_day

RATING_PATH = "/progress/rating"

# What the form's fields are called where an error names them.
LEVEL_FIELD = "满意程度"
REASON_FIELD = "评价理由"
RATED_ALREADY = "评价: 这个办件已经评价过了, 每个办件只能评价一次。"
NOT_RATABLE = "评价: 办件办结 (或作出决定) 后才能评价。"

# The page's own style sets inputs full width and labels bold: a radio list needs less.
_CSS = (
    "fieldset{border:1px solid #ccc;border-radius:8px;margin:8px 0;padding:4px 12px 8px}"
    "legend{font-weight:600;padding:0 4px}"
    "label.choice{font-weight:400;margin:0;padding:8px 0;display:flex;align-items:center;gap:10px}"
    "label.choice input{width:auto;margin:0;transform:scale(1.3)}"
)
_NEEDS_REASON = "、".join(lv.label for lv in RatingLevel if lv in REASON_LEVELS)


def reason_missing(level: RatingLevel) -> str:
    return f"{REASON_FIELD}: 选择“{level.label}”时请写明理由 ({_NEEDS_REASON}都需要填写理由)。"


@dataclass(frozen=True)
class ShownRating:
    """A rating as the citizen reads it back; `follow_up_by`: a 差评's latest due instant."""

    level: RatingLevel
    reason: str | None
    rated_at: datetime
    follow_up_by: datetime | None = None


def rating_form(
    case_number: str,
    phone_tail: str,
    *,
    error: str = "",
    level: RatingLevel | None = None,
    reason: str = "",
) -> str:
    """The form: five levels, the reason, the case number and phone tail again (the
    server checks them again; they are no proof on their own). Kept as given on an error."""
    radios = "".join(
        f'<label class="choice"><input type="radio" name="level" value="{lv.value}"'
        f"{' checked' if lv is level else ''} required> {lv.label}</label>"
        for lv in RatingLevel
    )
    note = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        f'<h2 id="rate">评价本次办理</h2><style>{_CSS}</style>{note}'
        f'<form method="post" action="{RATING_PATH}#rate">'
        f'<input type="hidden" name="case_number" value="{escape(case_number)}">'
        f'<input type="hidden" name="phone_tail" value="{escape(phone_tail)}">'
        f"<fieldset><legend>{LEVEL_FIELD}</legend>{radios}</fieldset>"
        f'<label for="reason">{REASON_FIELD}</label>'
        f'<p class="soft" id="reason-hint">选择{_NEEDS_REASON}时必须填写理由; '
        f"非常满意、满意可不填。不超过{REASON_MAX}字。</p>"
        f'<textarea id="reason" name="reason" rows="4" maxlength="{REASON_MAX}"'
        f' aria-describedby="reason-hint">{escape(reason)}</textarea>'
        '<button type="submit">提交评价</button></form>'
        '<p class="soft">每个办件只能评价一次。差评 (不满意、非常不满意) 由相关部门回访、'
        "整改或说明, 并告知您结果。</p>"
    )


def rating_shown(rating: ShownRating, *, thanks: bool = False, error: str = "") -> str:
    """The rating given: level, when (Beijing time), the reason; a 差评's follow-up day."""
    out = ['<h2 id="rate">您的评价</h2>']
    if error:
        out.append(f'<p class="error" role="alert">{escape(error)}</p>')
    if thanks:
        out.append('<p class="ok" role="status"><strong>评价已提交, 感谢您的评价。</strong></p>')
    out.append(f'<dl class="facts"><dt>{LEVEL_FIELD}</dt><dd>{rating.level.label}</dd>')
    out.append(f"<dt>评价时间</dt><dd>{local_time(rating.rated_at)} (北京时间)</dd>")
    if rating.reason:
        out.append(f"<dt>{REASON_FIELD}</dt><dd>{escape(rating.reason)}</dd>")
    out.append("</dl>")
    if rating.level.bad:
        if rating.follow_up_by is not None:
            day = local_day(beijing_day(rating.follow_up_by))
            out.append(
                f'<p class="notice">相关部门将在 {day} (北京时间) 前回访您, '
                "整改或作出说明, 并告知您处理结果。</p>"
            )
        else:
            out.append('<p class="notice">相关部门将回访您, 整改或作出说明, 并告知您结果。</p>')
    return "".join(out)
