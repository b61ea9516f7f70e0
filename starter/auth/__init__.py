"""Who may call the HTTP API: bearer tokens mapped to a role and a scope.

Token document (JSON, or TOML with `[[tokens]]` tables), one entry per caller:

    {"tokens": [
      {"name": "clerk-yc-01", "role": "window_clerk", "hall": "yicheng-center",
       "token": "<at least 16 characters>"},
      {"name": "rev-health-01", "role": "reviewer", "department": "health",
       "token_sha256": "<hex SHA-256 of the token>"},
      {"name": "insp-market-01", "role": "inspector", "department": "market", "token": "..."},
      {"name": "head-market", "role": "department_head", "department": "market", "token": "..."},
      {"name": "applicant-wang", "role": "applicant",
       "applicant_ref": "<key id>:<HMAC of the applicant's ID number>", "token": "..."},
      {"name": "sup-01", "role": "supervisor", "token": "..."},
      {"name": "audit-01", "role": "auditor", "token": "..."},
      {"name": "ops-01", "role": "operator", "token": "..."}
    ]}

- `name` identifies the caller; for staff it is the staff ID written into the decision
  trail. `token` (plain) or `token_sha256` (only the hash is stored) — exactly one.
- Scope: a window clerk has a `hall`; a reviewer, an inspector or the head of a
  department (`department_head`: extensions, excluded time) a `department`; an applicant
  an `applicant_ref`: HMAC-SHA256 of the SHA-256 of their ID number under the subject
  keyring (`onething.keys`), prefixed with the key's id. `python -m starter.auth
  hash-id` computes it with this installation's keyring. Without the key the file says
  nothing about whose ID it is (a plain SHA-256 of an 18-digit ID is reversed in seconds).
- The older field `id_number_sha256` (that plain SHA-256) is refused with a message saying
  how to replace it: `python -m starter.auth upgrade-tokens` rewrites a JSON file in place
  (for TOML it prints the lines to paste); the embedded default file is rewritten at start.
- Where it is read from, first found wins: `ONETHING_API_TOKENS` (the document inline),
  `ONETHING_API_TOKENS_FILE` (a .json or .toml file), else the embedded default
  `<ONETHING_DATA_DIR>/api-tokens.json`, created on first use with random tokens for
  every role (`python -m starter.auth token NAME` prints one).

Rules (what each role may do) are the `may_*` functions; a refusal is a 403 whose message
gives the reason. No token or an unknown one is a 401.

The package, by concern: `tokens` (the document's entries, the registry, applicant
references), `loading` (where the document comes from, the embedded default, upgrades),
`principal` (the caller and the groups of roles), `dependency` (a request's bearer token),
`rules` (the `may_*` rules and the scopes of lists). What the API and the command line use
is importable from `starter.auth` itself.
"""

from __future__ import annotations

from starter.auth.dependency import authenticate
from starter.auth.loading import (
    default_token_document,
    load_api_tokens,
    open_token_subject_keys,
    upgrade_token_document,
)
from starter.auth.principal import DEPARTMENT_ROLES, Principal
from starter.auth.rules import (
    ApplicationFilter,
    TaskFilter,
    application_scope,
    case_scope,
    forbid,
    may_act_for_applicant,
    may_cancel,
    may_close_case,
    may_close_referral,
    may_decide,
    may_decide_credit,
    may_exclude_time,
    may_extend,
    may_extend_joint_limit,
    may_hand_over,
    may_inspect,
    may_object_to_credit,
    may_read_application,
    may_read_credit,
    may_read_item,
    may_read_reports,
    may_refuse,
    may_submit,
    may_take,
    may_use_codec,
    referral_scope,
    task_scope,
)
from starter.auth.tokens import (
    AuthConfigError,
    TokenEntry,
    TokenRegistry,
    applicant_ref,
    id_number_sha256,
    sha256_hex,
)

__all__ = [
    "DEPARTMENT_ROLES",
    "ApplicationFilter",
    "AuthConfigError",
    "Principal",
    "TaskFilter",
    "TokenEntry",
    "TokenRegistry",
    "applicant_ref",
    "application_scope",
    "authenticate",
    "case_scope",
    "default_token_document",
    "forbid",
    "id_number_sha256",
    "load_api_tokens",
    "may_act_for_applicant",
    "may_cancel",
    "may_close_case",
    "may_close_referral",
    "may_decide",
    "may_decide_credit",
    "may_exclude_time",
    "may_extend",
    "may_extend_joint_limit",
    "may_hand_over",
    "may_inspect",
    "may_object_to_credit",
    "may_read_application",
    "may_read_credit",
    "may_read_item",
    "may_read_reports",
    "may_refuse",
    "may_submit",
    "may_take",
    "may_use_codec",
    "open_token_subject_keys",
    "referral_scope",
    "sha256_hex",
    "task_scope",
    "upgrade_token_document",
]
