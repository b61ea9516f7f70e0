"""Auditors' tools: export an application's histories, replay them against today's code, read
the decision trail. They work from Temporal's own record, not from what the workflow code says
about itself today.

- the histories themselves come from `onething.histories` (fetched from Temporal: the parent
  and every child, also across continue-as-new; or loaded from files), below, because the KPI
  read model's projector (`onething.case_facts`) reads them the same way;
- `audit.export`: write them as JSON in the format `temporal workflow show --output json` and
  the Web UI download produce, plus a `manifest.json` naming the workflow ID of each file;
- `audit.replay`: run them through `temporalio.worker.Replayer` with the workflows and runner
  the caller gives (the production ones: `worker.WORKFLOWS`, `worker.workflow_runner()`) and
  the production data converter, and report per history "replays cleanly" or the divergence;
- `audit.trail`: every acceptance, correction, refusal, decision, supplement, inspection,
  extension, excluded time, escalation, referral and revocation, with actor, role, time, rule
  (catalog version and item code) and reason; its rows in `audit.rows`, what the activities
  say in `audit.trail_steps`, the row kinds in `audit.kinds`, the activity and update names
  it recognises in `onething.history_names` and payload reading in `onething.history_payloads`
  (both below, shared with the projector).

Only staff IDs, roles, codes and staff-written reasons are taken from payloads, never the
applicant's personal data. The command line over it: `onething audit` (`starter.cli_audit`).
"""
